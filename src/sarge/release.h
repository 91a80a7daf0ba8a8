// A release's source (a folder or a .tar.gz) put into an instance folder.
// A release is untrusted input: it brings code, never privileges.
#pragma once

#include <filesystem>
#include <string>

#include "sarge/command_runner.h"
#include "sarge/home.h"

namespace sarge {

// True for a name ending in .tar.gz or .tgz.
bool IsTarball(const fs::path& source);

// Throws Error unless `source` is a folder or a .tar.gz that this process
// (the home's owner) can read: before anything is created.
void CheckSource(const fs::path& source);

// Copies (folder) or unpacks (tarball, with tar) `source` into instance
// `id`'s folder, through a folder only the owner can reach, and makes what
// came out safe before anyone else can: setuid, setgid, group and world
// write bits dropped, every entry this process's (the home's owner's). A
// device node, FIFO or socket is refused with an Error naming the entry,
// before a folder is copied and after a tarball is unpacked (the caller
// removes the instance folder). A tarball holding one top folder and no
// `server` has that folder's content moved up.
void InstallSource(const Home& home, CommandRunner& runner, const fs::path& source,
                   const std::string& id);

}  // namespace sarge
