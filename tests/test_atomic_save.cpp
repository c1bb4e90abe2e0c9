// Atomic saves (core/atomic_file.h): a save killed half-way leaves the old file and a temporary
// that the next save removes and that is never taken for the output; write errors name their
// cause from errno; a failed write leaves no file behind.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <filesystem>
#include <set>

#include <netkit/core/atomic_file.h>
#include <netkit/core/error.h>
#include <netkit/train/checkpoint.h>
#include "tests/support/fixtures.h"
#include "tests/test_train_support.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Equals;

namespace {

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

// The id of a process that has exited.
pid_t gone_process() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

// Limits the size of files this process writes (a disk that fills up); writes past it fail with
// EFBIG instead of raising SIGXFSZ. Restores both at the end of the scope.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    previous_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, previous_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*previous_)(int) = nullptr;
};

}  // namespace

TEST_CASE("Atomic save: a save killed half-way leaves the old file, and the next save removes its temporary",
          "[atomic_save]") {
  TempDir dir("atomic-kill");
  std::filesystem::create_directories(dir.path);
  const std::string path = dir.path + "/OUT.json";
  write_text(path, "old");
  // A real kill during saves of a large file: the output is whole (old or new), whatever the moment.
  const std::string big(8 << 20, 'x');
  const pid_t child = ::fork();
  if (child == 0) {
    for (;;) write_file_atomically(path, big);
  }
  ::usleep(50000);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  const std::string after_kill = read_text(path);
  CHECK((after_kill == "old" || after_kill == big));
  // Leftovers as a killed save leaves them: one of a process that is gone and the fixed name of
  // older versions; and one of a process that is still running, which must be left alone.
  const std::string stale = path + "." + std::to_string(gone_process()) + ".0.tmp";
  const std::string running = path + "." + std::to_string(::getppid()) + ".0.tmp";
  write_text(stale, "half");
  write_text(path + ".tmp", "half");
  write_text(running, "in progress");
  const AtomicWriteResult result = write_file_atomically(path, "new");
  CHECK(result.ok());
  CHECK(read_text(path) == "new");
  CHECK(names_in(dir.path) == std::set<std::string>{"OUT.json", "OUT.json." + std::to_string(::getppid()) + ".0.tmp"});
}

TEST_CASE("Atomic save: temporaries are unique per save and never listed as checkpoints", "[atomic_save]") {
  TempDir dir("atomic-names");
  std::filesystem::create_directories(dir.path);
  const std::string path = dir.path + "/checkpoint-000000003.json";
  const AtomicWriteResult first = write_file_atomically(path, "a"), second = write_file_atomically(path, "b");
  CHECK(first.temp != second.temp);
  CHECK(first.temp.rfind(path + "." + std::to_string(::getpid()) + ".", 0) == 0);
  CHECK(first.temp.substr(first.temp.size() - 4) == ".tmp");
  write_text(path + "." + std::to_string(gone_process()) + ".0.tmp", "half");
  CHECK(list_checkpoints(dir.path) == std::vector<std::string>{path});
}

TEST_CASE("Atomic save: write errors name their cause and leave no file", "[atomic_save]") {
  CHECK(write_error_cause(ENOSPC) == "no space left on the device");
  CHECK(write_error_cause(EROFS) == "a read-only file system");
  CHECK(write_error_cause(EACCES) == "no permission");
  CHECK(write_error_cause(EPERM) == "no permission");
  CHECK(write_error_cause(ENOENT) == "no such directory");
  CHECK(write_error_cause(EDQUOT) == "the disk quota is used up");
  const AtomicWriteResult missing = write_file_atomically("no/such/dir/OUT.json", "text");
  CHECK(missing.status == AtomicWrite::WriteFailed);
  CHECK(missing.error == ENOENT);
  TempDir dir("atomic-full");
  std::filesystem::create_directories(dir.path);
  const std::string path = dir.path + "/OUT.json";
  {
    const FileSizeLimit full(100);  // as a disk with 100 bytes free
    const AtomicWriteResult result = write_file_atomically(path, std::string(1000, 'x'));
    CHECK(result.status == AtomicWrite::WriteFailed);
    CHECK(result.error == EFBIG);
    CHECK(!probe_writable(path, 1000).ok());
    CHECK(probe_writable(path, 50).ok());
  }
  CHECK(names_in(dir.path).empty());  // neither the output nor a temporary, not even an empty one
}

TEST_CASE("Atomic save: a checkpoint that cannot be written names the file and the cause", "[atomic_save]") {
  TempDir dir("atomic-checkpoint");
  Checkpoint c;
  c.step = 7;
  const FileSizeLimit full(100);
  try {
    write_checkpoint(dir.path, c, 3);
    FAIL("no error");
  } catch (const TrainingError& e) {
    const std::string temp = dir.path + "/checkpoint-000000007.json." + std::to_string(::getpid()) + ".";
    CHECK_THAT(e.what(), Catch::Matchers::StartsWith("NetTrain, checkpoint \"" + temp));
    CHECK_THAT(e.what(), Catch::Matchers::EndsWith(
                             ".tmp\": cannot be written; expected a writable file, got the file is too large for the "
                             "file system or the process's file-size limit"));
  }
  CHECK(names_in(dir.path).empty());
}
