#include "sarge/deploy_marker.h"

namespace sarge {

fs::path DeployMarker(const Home& home, const std::string& id) {
  return home.RunDir() / "deploys" / id;
}

void MarkDeploy(const Home& home, const std::string& id, std::string_view phase) {
  fs::path marker = DeployMarker(home, id);
  MakeDirs(marker.parent_path());
  WriteFileAtomic(marker, phase);
}

void UnmarkDeploy(const Home& home, const std::string& id) { RemoveFile(DeployMarker(home, id)); }

bool IsDeploySwitched(const Home& home, const std::string& id) {
  return ReadFileIfExists(DeployMarker(home, id)).value_or("") == kSwitched;
}

}  // namespace sarge
