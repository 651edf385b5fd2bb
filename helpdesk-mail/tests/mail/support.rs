//! Starting the real servers the tests talk to, and finding them.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const INSTALL_HINT: &str =
    "run `bash tests/mail/install` (CI does) to install the mail test servers";

/// The repository's `tests/mail` folder (this file is also compiled into the root
/// crate's end-to-end tests, one folder up).
pub fn mail_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let here = manifest.join("tests/mail");
    if here.join("smtp_server.py").exists() {
        here
    } else {
        manifest.join("../tests/mail")
    }
}

/// The venv's Python (with aiosmtpd), as tests/mail/install made it.
pub fn venv_python() -> PathBuf {
    let venv = match std::env::var_os("HELPDESK_MAIL_VENV") {
        Some(venv) => PathBuf::from(venv),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
                .expect("neither XDG_CACHE_HOME nor HOME is set");
            cache.join("helpdesk/mail-venv")
        }
    };
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "no Python venv at {}: {INSTALL_HINT}",
        venv.display()
    );
    python
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Runs a Python script (system python3) with arguments; returns its stdout parsed as JSON.
pub async fn python_json(script: &str, args: &[String]) -> serde_json::Value {
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .await
        .expect("run python3");
    assert!(
        output.status.success(),
        "python3 failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "python3 printed no JSON ({err}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// One mail as aiosmtpd took it.
pub struct Recorded {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub mail_options: Vec<String>,
    pub data: Vec<u8>,
}

/// tests/mail/smtp_server.py (aiosmtpd), recording mails to a JSONL file.
pub struct SmtpServer {
    pub port: u16,
    record: PathBuf,
    _dir: tempfile::TempDir,
    _child: Child,
}

impl SmtpServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let record = dir.path().join("mails.jsonl");
        let mut child = Command::new(venv_python())
            .arg(mail_dir().join("smtp_server.py"))
            .arg(&record)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start tests/mail/smtp_server.py");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("smtp_server.py did not start within 20 s")
            .expect("read smtp_server.py")
            .expect("smtp_server.py exited before listening");
        let port = line
            .strip_prefix("PORT ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("smtp_server.py said {line:?}"));
        Self {
            port,
            record,
            _dir: dir,
            _child: child,
        }
    }

    /// The mails it accepted, in order.
    pub fn mails(&self) -> Vec<Recorded> {
        let text = std::fs::read_to_string(&self.record).unwrap_or_default();
        text.lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("JSONL record");
                let strings = |key: &str| -> Vec<String> {
                    v[key]
                        .as_array()
                        .expect(key)
                        .iter()
                        .map(|s| s.as_str().expect(key).to_owned())
                        .collect()
                };
                let data = v["data"]
                    .as_str()
                    .expect("data")
                    .chars()
                    .map(|c| c as u32 as u8)
                    .collect();
                Recorded {
                    mail_from: v["mail_from"].as_str().expect("mail_from").to_owned(),
                    rcpt_tos: strings("rcpt_tos"),
                    mail_options: strings("mail_options"),
                    data,
                }
            })
            .collect()
    }
}

/// A dovecot (imapd) with one user, a maildir in a temp dir, plain LOGIN, no TLS.
pub struct Dovecot {
    pub port: u16,
    pub user: String,
    pub password: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

const DOVECOT: &str = "/usr/sbin/dovecot";

impl Dovecot {
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// Starts with `extra` appended to the generated configuration.
    pub async fn start_with(extra: &str) -> Self {
        assert!(
            std::path::Path::new(DOVECOT).exists(),
            "{DOVECOT} is missing: {INSTALL_HINT}"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        // As root, mail is kept as nobody (dovecot refuses UID 0 for mail); the processes
        // must reach the temp dir.
        let (uid, gid, internal) = match Self::id("-u") {
            0 => (65534, 65534, "dovecot".to_owned()),
            uid => (uid, Self::id("-g"), Self::id_name()),
        };
        set_mode(root, 0o755);
        for sub in ["mail", "run", "state"] {
            std::fs::create_dir(root.join(sub)).expect("create dir");
        }
        set_mode(&root.join("mail"), 0o777);
        let (user, password) = ("agent".to_owned(), "secret-pw".to_owned());
        std::fs::write(root.join("passwd"), format!("{user}:{{PLAIN}}{password}\n"))
            .expect("passwd");
        let port = free_port();
        let r = root.display();
        let config = format!(
            r#"protocols = imap
listen = 127.0.0.1
base_dir = {r}/run
state_dir = {r}/state
instance_name = helpdesk-test-{port}
log_path = {r}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
mail_location = maildir:{r}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {r}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={r}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
log_debug = event=imap_command_finished
{extra}
"#,
            login = if internal == "dovecot" {
                "dovenull".to_owned()
            } else {
                internal.clone()
            },
        );
        let conf = root.join("dovecot.conf");
        std::fs::write(&conf, config).expect("write dovecot.conf");
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .kill_on_drop(true)
            .spawn()
            .expect("start dovecot");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if started.elapsed() > Duration::from_secs(20) {
                let log = std::fs::read_to_string(root.join("dovecot.log")).unwrap_or_default();
                panic!("dovecot did not listen on {port} within 20 s; log:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            port,
            user,
            password,
            dir,
            child: Some(child),
        }
    }

    fn id(flag: &str) -> u32 {
        let out = std::process::Command::new("id")
            .arg(flag)
            .output()
            .expect("id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("numeric id")
    }

    fn id_name() -> String {
        let out = std::process::Command::new("id")
            .arg("-un")
            .output()
            .expect("id");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Every IMAP command the server finished so far (all sessions), as the client sent it.
    pub fn commands(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|line| line.split_once("Command finished: "))
            .map(|(_, command)| command.trim_end().to_owned())
            .collect()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its children; kill_on_drop is the fallback.
        if let Some(pid) = self.child.as_ref().and_then(Child::id) {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            if let Some(child) = self.child.as_mut() {
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
