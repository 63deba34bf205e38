// Files that are whole or absent: a crash, a kill or a full disk leaves the previous file or the
// new one, never a mix. Every writer of the project's outputs (safetensors files, training
// states, reports) goes through here.
//
// Usage:
//   write_file_atomic("out.html", "--html", html_text);
//   write_file_atomic("w.safetensors", "safetensors", [&](int fd) { return write_all(fd, p, n); });
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace cnnmem {

// Writes all of [data, data + size), retrying on partial writes and EINTR; false on an error
// (errno says which).
bool write_all(int fd, const void* data, size_t size);

// `write` fills a temporary file beside `path` (<path>.tmp.<pid>) and returns false on an error;
// the file is then fsynced, closed and renamed over `path`, and the directory fsynced. On any
// error the temporary file is removed and Error is thrown, beginning with `what` ("safetensors",
// "--html") and naming the file and the cause.
void write_file_atomic(const std::string& path, const std::string& what,
                       const std::function<bool(int fd)>& write);
void write_file_atomic(const std::string& path, const std::string& what, std::string_view text);

// fsync of a directory, so that a rename in it survives a crash. A file system that cannot sync
// directories (EINVAL) or a directory that cannot be opened is accepted: the fsynced file is
// all there is to do then.
void sync_directory(const std::string& dir, const std::string& what);

}  // namespace cnnmem
