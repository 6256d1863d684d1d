#include "hubgate/config/rules_file.hpp"

#include "hubgate/hubspot/catalog.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <memory>
#include <system_error>

namespace hubgate::config {

namespace {

struct file_closer {
  void operator()(std::FILE* file) const noexcept { std::fclose(file); }
};

// errno's text through std::error_code: thread-safe, unlike std::strerror (serve reloads rules
// while other threads run).
std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

} // namespace

bool catalog_operations::contains(std::string_view name) const {
  return hubspot::find_operation(name) != nullptr;
}

std::vector<std::string> catalog_operations::names() const {
  std::vector<std::string> out;
  for (const auto& op : hubspot::all_operations()) {
    out.emplace_back(op.name);
  }
  return out;
}

std::optional<std::string> read_rules_text(const std::string& path, std::string& error) {
  return read_small_file(path, max_rules_file_bytes, "not a rules file", error);
}

std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes, std::string_view what_else,
                                           std::string& error) {
  // Opened without blocking and read only when it is a regular file: a FIFO would block the
  // open (or the read) until a writer came, and a reload runs on the thread that also answers
  // /healthz. Symbolic links are followed (Kubernetes mounts ConfigMaps and Secrets through them).
  errno = 0;
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = errno_text(errno);
    return std::nullopt;
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    const int why = errno;
    ::close(fd);
    error = S_ISDIR(info.st_mode) ? errno_text(EISDIR) : why != 0 ? errno_text(why) : "not a regular file";
    return std::nullopt;
  }
  const std::unique_ptr<std::FILE, file_closer> file(::fdopen(fd, "rb"));
  if (!file) {
    error = errno_text(errno);
    ::close(fd);
    return std::nullopt;
  }
  std::string text;
  char buffer[16 * 1024];
  while (true) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    text.append(buffer, n);
    if (text.size() > max_bytes) {
      error = "larger than " + std::to_string(max_bytes / 1024) + " KiB, " + std::string(what_else);
      return std::nullopt;
    }
    if (n < sizeof buffer) {
      break;
    }
  }
  // A directory opens fine on Linux; reading it is what fails (EISDIR).
  if (std::ferror(file.get()) != 0) {
    error = errno_text(errno != 0 ? errno : EIO);
    return std::nullopt;
  }
  return text;
}

rules::load_result load_rules_text(std::string_view text, const std::string& path,
                                   const access::secret_reader* secrets) {
  static const catalog_operations operations;
  try {
    return rules::load_rule_set(text, path, operations, secrets);
  } catch (const std::exception& e) { // out of memory: a reload keeps the rules it has
    rules::load_result result;
    result.errors.push_back(rules::load_error{path, 0, 0, std::string("cannot load the rules file: ") + e.what()});
    return result;
  }
}

rules::load_result load_rules_file(const std::string& path, std::string* text,
                                   const access::secret_reader* secrets) {
  std::string error;
  auto read = read_rules_text(path, error);
  if (!read) {
    rules::load_result result;
    result.errors.push_back(rules::load_error{path, 0, 0, "cannot read the rules file: " + error});
    return result;
  }
  auto result = load_rules_text(*read, path, secrets);
  if (text != nullptr) {
    *text = std::move(*read);
  }
  return result;
}

std::string format_error(const rules::load_error& error) {
  if (error.line == 0) {
    return error.file + ": " + error.message;
  }
  return error.to_string();
}

} // namespace hubgate::config
