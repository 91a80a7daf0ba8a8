// Who sarge acts as on a home: its owner. Root running sarge on a home owned
// by another user becomes that user, irreversibly, before it reads anything
// of the home, so everything sarge does, runs and creates there is the
// owner's (docs/security.md).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace sarge {

// Becomes the owner of `home` (resolved; `given`: the absolute path it was
// given as) if the caller is root and the owner is not: supplementary
// groups, gid and uid of the owner's passwd entry, and HOME, USER, LOGNAME
// for what sarge runs. A home owned by the caller is used as is; root keeps
// root on a home of its own (or one `init` is to make) only if every entry
// on both paths is root's and no folder above it is writable by others.
// Throws Error for anyone else ("HOME belongs to OWNER; run sarge as OWNER
// …").
void ActAsOwner(const std::filesystem::path& given, const std::filesystem::path& home);

// "root (as OWNER)" after ActAsOwner switched, else the name of the
// effective user: who did an action, for var/log/sarge.log.
std::string ActingUser();

// The user name of `uid`, or the number when no user has it.
std::string UserName(uid_t uid);

}  // namespace sarge
