//! `mailwire serve` on a full disk answers `452 4.3.1` and leaves nothing
//! behind. Needs a small tmpfs: runs as root (mount), and says so and
//! passes trivially where mounting is not allowed.

mod serve_support;

use std::process::Command;
use std::time::Duration;

use serve_support::{Serve, TempDir, run_peer};

/// A mounted 64 KiB tmpfs, unmounted on drop.
struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    fn mount() -> Option<Tmpfs> {
        let dir = TempDir::new("full");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"])
            .arg(&dir.0)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir.0).status();
    }
}

const PYTHON: &str = r#"
import smtplib, sys
port = int(sys.argv[1])
body = "Subject: big\r\n\r\n" + ("x" * 76 + "\r\n") * 4000
with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
    try:
        s.sendmail("a@example.org", ["b@example.org"], body)
        print("accepted")
    except smtplib.SMTPDataError as e:
        print("refused", e.smtp_code, e.smtp_error.decode())
    small = s.sendmail("a@example.org", ["b@example.org"], "Subject: small\r\n\r\nhi\r\n")
    print("small ok")
"#;

#[test]
fn full_disk_answers_452_4_3_1() {
    // The test machines and CI run as root; a machine where a tmpfs cannot
    // be mounted fails this test loudly rather than skipping it.
    let fs = Tmpfs::mount().expect("mounting a 64 KiB tmpfs needs root (CI runs as root)");
    let maildir = fs.dir.join("mail");
    let maildir = maildir.display().to_string();
    let serve = Serve::start(&["--maildir", &maildir]);
    let port = serve.port().to_string();
    let ran = run_peer(
        "python3",
        &["-c", PYTHON, &port],
        None,
        Duration::from_secs(60),
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    assert!(ran.output.contains("refused 452 4.3.1"), "{}", ran.output);
    assert!(ran.output.contains("small ok"), "{}", ran.output);
    let stored = serve_support::stored(std::path::Path::new(&maildir));
    assert_eq!(stored.len(), 1, "only the small message");
    assert!(stored[0].1.contains("Subject: small"));
    drop(serve);
}
