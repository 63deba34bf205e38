// Whole-file reads for the data set readers: existence, type and size checks, then one read.
// Not here: any parsing of the bytes.
#include "io/file_bytes.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "framework/error.h"

namespace cnnmem {

std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& format,
                                     uint64_t max_bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(format + ": " + path + " not found; check the path");
  if (fs::is_directory(path, ec)) {
    throw Error(format + ": " + path + " is a directory, not a file; pass the file's path");
  }
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) throw Error(format + ": cannot read the size of " + path + " (" + ec.message() + ")");
  if (size > max_bytes) {
    throw Error(format + ": " + path + " is " + std::to_string(size) + " bytes, more than the " +
                std::to_string(max_bytes) + " any such file can hold; it is not a " + format +
                " file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(format + ": cannot open " + path + "; check that the file is readable");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size || in.peek() != std::char_traits<char>::eof()) {
    throw Error(format + ": cannot read " + path + " to the end; the file changed while reading?");
  }
  return bytes;
}

}  // namespace cnnmem
