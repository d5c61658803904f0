#include "quantlens/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace ql::io {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// Closes a descriptor on every path out of a function.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace

Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path, uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFound("{}: no such file", path);
    return IoError("{}: cannot open: {}", path, ErrnoText(err));
  }
  FdCloser closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return IoError("{}: cannot stat: {}", path, ErrnoText(errno));
  if (S_ISDIR(st.st_mode)) return InvalidArgument("{}: is a directory, expected a file", path);
  if (!S_ISREG(st.st_mode)) return InvalidArgument("{}: not a regular file", path);
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return InvalidArgument("{}: file is {} bytes, more than the {} bytes quantlens reads", path,
                           static_cast<uint64_t>(st.st_size), max_bytes);
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("{}: read failed: {}", path, ErrnoText(errno));
    }
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes) {
  // A unique name in the same directory: pid plus a process-wide counter, created with O_EXCL so
  // two writers never share a temporary file.
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = fmt::format("{}.tmp-{}-{}", path, static_cast<long>(::getpid()), counter.fetch_add(1));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) {
      return IoError("{}: cannot create temporary file {}: {}", path, tmp, ErrnoText(errno));
    }
  }
  if (fd < 0) return IoError("{}: cannot find a free temporary file name next to it", path);
  FdCloser closer(fd);
  auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    return IoError("{}: {}: {}", path, what, ErrnoText(err));
  };
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write failed", errno);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync failed", errno);
  if (::close(closer.release()) != 0) return fail("close failed", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename of temporary file failed", errno);
  return Status::Ok();
}

bool SameExistingFile(const std::string& a, const std::string& b) {
  std::error_code ec;
  bool same = std::filesystem::equivalent(a, b, ec);
  return !ec && same;
}

}  // namespace ql::io
