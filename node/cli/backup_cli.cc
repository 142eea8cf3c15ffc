#include "node/cli/backup_cli.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>

#include "node/base/text.h"
#include "node/base/time.h"
#include "node/cli/client.h"
#include "node/daemon/backup.h"

namespace parley {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

int Fail(const Status& s) {
  std::cerr << "parley: " << s.message() << "\n";
  return s.code() == Code::kInvalidArgument ? kExitUsage : kExitFailed;
}

struct BackupFlags {
  std::string socket;
  std::string out;
  bool force = false;
  std::string file;
  std::string data_dir;
  std::string manifest_dir;
  CLI::App* backup = nullptr;
  CLI::App* restore = nullptr;
};

Status SyncFolderOf(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status(Code::kIoError, "cannot open folder " + dir.string() + ": " + std::strerror(errno));
  const bool ok = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return Status(Code::kIoError, "cannot fsync folder " + dir.string() + ": " + std::strerror(err));
  return Status::Ok();
}

std::string Describe(const BackupSummary& s) {
  return "ledger " + ToHex(s.ledger_id).substr(0, 16) + "…, feeds " + std::to_string(s.heads[0]) + " + " +
         std::to_string(s.heads[1]) + " entries, " + std::to_string(s.fork_proofs) + " fork proofs, " +
         std::to_string(s.manifest_rows) + " manifest store rows, " + std::to_string(s.bytes) + " bytes, made " +
         IsoTime(s.created_ms);
}

// Streams the backup into a new file beside `out`, checks it whole, and
// renames it over `out` (refusing an existing `out` unless `force`).
int CmdBackup(const BackupFlags& f) {
  const std::filesystem::path out = f.out;
  std::error_code ec;
  if (!f.force && std::filesystem::exists(std::filesystem::symlink_status(out, ec))) {
    return Fail(Status(Code::kInvalidArgument, out.string() + " exists; give --force to replace it (nothing was written)"));
  }
  auto client = OperatorClient::Connect(f.socket);
  if (!client) return Fail(client.error());
  const std::filesystem::path tmp = out.string() + ".partial-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(Status(Code::kIoError, "cannot create " + tmp.string() + ": " + std::strerror(errno)));
  const auto t0 = std::chrono::steady_clock::now();
  Status s = (*client)->Backup([&](std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status(errno == ENOSPC ? Code::kResourceExhausted : Code::kIoError,
                      "cannot write " + tmp.string() + ": " + std::strerror(errno));
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  });
  if (s.ok() && ::fsync(fd) != 0) s = Status(Code::kIoError, "cannot fsync " + tmp.string() + ": " + std::strerror(errno));
  if (::close(fd) != 0 && s.ok()) s = Status(Code::kIoError, "cannot close " + tmp.string());
  // Checked whole before it takes the name: a stream cut short never
  // becomes a backup.
  std::optional<BackupSummary> summary;
  if (s.ok()) {
    auto reader = BackupReader::Open(tmp);
    if (reader) summary = (*reader)->summary();
    else s = reader.error();
  }
  if (s.ok()) {
    const unsigned flags = f.force ? 0 : RENAME_NOREPLACE;
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, out.c_str(), flags) != 0) {
      s = Status(errno == EEXIST ? Code::kInvalidArgument : Code::kIoError,
                 "cannot rename the backup to " + out.string() + ": " + std::strerror(errno) +
                     (errno == EEXIST ? " (give --force to replace it)" : ""));
    }
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return Fail(Status(s.code(), "backup failed: " + s.message() + "; " + out.string() + " was not written"));
  }
  if (Status d = SyncFolderOf(out); !d.ok()) return Fail(d);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "backup written to " << Printable(out.string()) << ": " << Describe(*summary) << " (" << ms << " ms)\n";
  return kExitOk;
}

int CmdRestore(const BackupFlags& f) {
  auto summary = RestoreBackup(f.file, f.data_dir, f.manifest_dir);
  if (!summary) return Fail(Status(summary.error().code(), "restore refused: " + summary.error().message()));
  std::cout << "restored " << Printable(f.file) << " into " << Printable(f.data_dir) << ": " << Describe(*summary)
            << "\nStart the node with its usual config (same key and high-water mark). It signs only once its peer "
               "has confirmed its own head, and recovers from the peer what was signed after the backup. Own "
               "manifests committed after the backup cannot be recovered: `parley status` names them.\n";
  return kExitOk;
}

}  // namespace

std::function<std::optional<int>()> AddBackupCommands(CLI::App& app, const std::string& default_socket) {
  auto f = std::make_shared<BackupFlags>();
  f->backup = app.add_subcommand("backup", "write an online backup of the running node's ledger and manifests");
  f->backup->footer(
      "The node keeps signing during the backup: it reads a consistent snapshot of its ledger (LevelDB) and its "
      "manifest store and streams it here. The file is written beside --out, fsync'd, checked whole (format, "
      "digest), then renamed to --out, so --out is never a partial backup. An existing --out is refused unless "
      "--force. The file holds the manifest store encrypted as on disk (readable only with the node's key) and "
      "the signed entries of both feeds: keep it as private as the data folder. Format: docs/PROTOCOL.md §9; "
      "restoring: `parley restore`.");
  f->backup->add_option("--out", f->out, "the backup file to write")->required();
  f->backup->add_flag("--force", f->force, "replace --out if it exists");
  f->backup->add_option("--socket", f->socket, "operator socket of the local node (env PARLEY_SOCKET)")
      ->default_val(default_socket);

  f->restore = app.add_subcommand("restore", "restore a backup into a new data folder (offline)");
  f->restore->footer(
      "Run it with the node stopped. It refuses a --data-dir that exists and is not empty, and a file that is "
      "cut short, damaged (digest), or not a backup; then it verifies every entry with the ledger's own checks, "
      "builds the folder beside --data-dir and renames it into place only when complete: on any error nothing "
      "is changed. The restored folder is marked as restored: the node then signs only after its peer has "
      "confirmed its own head (even with sign_without_peer_confirmation), and first recovers from the peer "
      "what was signed after the backup. Own manifests committed after the backup are not on the peer: "
      "`parley status` names each one the ledger cites as missing. Keep the high-water mark where it is.");
  f->restore->add_option("file", f->file, "the backup file (parley backup --out)")->required();
  f->restore->add_option("--data-dir", f->data_dir, "the node's data folder to create (new or empty)")->required();
  f->restore->add_option("--manifest-dir", f->manifest_dir,
                         "the manifest store's folder, if the config sets manifest_dir (default: DATA/manifests)");

  return [f]() -> std::optional<int> {
    if (*f->backup) return CmdBackup(*f);
    if (*f->restore) return CmdRestore(*f);
    return std::nullopt;
  };
}

}  // namespace parley
