//! `mailwire serve` checks at start that it can store mail in its Maildir,
//! and refuses to start otherwise (instead of answering 451 to every
//! message). Tests run as root, who ignores permission bits, so the
//! Maildir is made really unwritable: on a read-only file system (a
//! tmpfs remounted read-only: needs root, as CI has), or under a regular
//! file.

mod serve_support;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serve_support::{MAILWIRE, TempDir};

/// A 64 KiB tmpfs holding an existing Maildir, remounted read-only;
/// unmounted on drop.
struct ReadOnlyMaildir {
    dir: TempDir,
}

impl ReadOnlyMaildir {
    fn mount() -> ReadOnlyMaildir {
        let fs = ReadOnlyMaildir {
            dir: TempDir::new("ro"),
        };
        fs.mount_with(&["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"]);
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(fs.maildir().join(sub)).expect("create");
        }
        fs.mount_with(&["-o", "remount,ro"]);
        fs
    }

    fn mount_with(&self, args: &[&str]) {
        let ok = Command::new("mount")
            .args(args)
            .arg(&self.dir.0)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mount {args:?} needs root (CI runs as root)");
    }

    fn maildir(&self) -> std::path::PathBuf {
        self.dir.join("mail")
    }
}

impl Drop for ReadOnlyMaildir {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir.0).status();
    }
}

/// Runs `mailwire serve --maildir DIR` on an ephemeral port, killed after
/// 10 s; returns its output and how long it ran.
fn serve(maildir: &std::path::Path) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(MAILWIRE)
        .args(["serve", "--listen", "127.0.0.1:0", "--maildir"])
        .arg(maildir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mailwire serve");
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().expect("output");
    (output, started.elapsed())
}

#[test]
fn a_read_only_maildir_is_refused_at_start() {
    let fs = ReadOnlyMaildir::mount();
    let maildir = fs.maildir();
    // The directories are there, and even root cannot write in them.
    assert!(maildir.join("tmp").is_dir());
    assert!(std::fs::File::create(maildir.join("tmp").join("x")).is_err());
    let (out, ran) = serve(&maildir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(ran < Duration::from_secs(5), "{ran:?}");
    assert!(out.stdout.is_empty(), "never listened: {:?}", out.stdout);
    let want = format!(
        "mailwire serve: cannot store mail in the Maildir {}: cannot create a file in {}: ",
        maildir.display(),
        maildir.join("tmp").display()
    );
    assert!(stderr.starts_with(&want), "{stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
}

#[test]
fn a_maildir_under_a_regular_file_is_refused_at_start() {
    let dir = TempDir::new("under-file");
    let file = dir.join("file");
    std::fs::write(&file, b"not a directory").expect("write");
    let maildir = file.join("mail");
    let (out, _) = serve(&maildir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.starts_with(&format!(
            "mailwire serve: cannot store mail in the Maildir {}: cannot create {}",
            maildir.display(),
            maildir.join("tmp").display()
        )),
        "{stderr}"
    );
}

#[test]
fn the_check_leaves_nothing_behind() {
    let dir = TempDir::new("check");
    let serve =
        serve_support::Serve::start(&["--maildir", &dir.join("mail").display().to_string()]);
    for sub in ["tmp", "new", "cur"] {
        let entries = std::fs::read_dir(serve.maildir.join(sub))
            .expect("read")
            .count();
        assert_eq!(entries, 0, "{sub}/ is empty");
    }
}
