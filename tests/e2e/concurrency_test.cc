// Commands run at the same time on one home are serialised: none fails,
// none loses another's work.
#include <regex>
#include <set>
#include <thread>

#include "e2e_util.h"

namespace e2e {
namespace {

class Concurrency : public HomeTest {
 protected:
  // Runs `sarge HOME args(i)…` for i in [0, n) at the same time.
  std::vector<Result> InParallel(int n, const std::function<std::vector<std::string>(int)>& args) {
    std::vector<Result> results(static_cast<size_t>(n));
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
      threads.emplace_back([&, i] { results[static_cast<size_t>(i)] = home_.Sarge(args(i)); });
    for (auto& t : threads) t.join();
    return results;
  }
};

// Lines that are not the progress note a command prints while it waits.
std::string Unexpected(const std::string& err) {
  std::string out;
  for (const auto& line : Lines(err))
    if (line != "sarge: waiting for another sarge command on this home to finish")
      out += line + "\n";
  return out;
}

TEST_F(Concurrency, TenParallelNewCommandsAllSucceedWithDistinctIds) {
  const std::string config =
      R"({"application_name": "web", "services": {"web": {"type": "listen"}}})";
  auto results = InParallel(10, [&](int) { return std::vector<std::string>{"new", config}; });
  std::set<std::string> ids;
  for (const auto& r : results) {
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_TRUE(std::regex_match(r.out, std::regex("web-[A-Za-z0-9]{6}\n"))) << r.out;
    EXPECT_EQ(Unexpected(r.err), "");
    ids.insert(r.out.substr(0, r.out.size() - 1));
  }
  EXPECT_EQ(ids.size(), 10u);

  std::set<std::string> records;
  for (const auto& entry : fs::directory_iterator(home_ / "etc/instances"))
    records.insert(entry.path().filename().string());
  std::set<std::string> expected;
  for (const auto& id : ids) {
    expected.insert(id + ".json");
    EXPECT_TRUE(fs::is_directory(home_ / id)) << id;
  }
  EXPECT_EQ(records, expected);
  json list = home_.List();
  EXPECT_EQ(list["instances"].size(), 10u);

  // Ten configures at once allocate ten different ports.
  std::vector<std::string> id_list(ids.begin(), ids.end());
  auto configured = InParallel(10, [&](int i) {
    return std::vector<std::string>{"configure", id_list[static_cast<size_t>(i)]};
  });
  std::set<int> ports;
  for (const auto& r : configured) {
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    ports.insert(json::parse(r.out)["WEB_PORT"].get<int>());
  }
  EXPECT_EQ(ports.size(), 10u);
  EXPECT_EQ(std::distance(fs::directory_iterator(home_ / "etc/ports"), fs::directory_iterator()),
            10);
}

}  // namespace
}  // namespace e2e
