//! One SMTP session: the commands, the mail data, the replies (RFC 5321, with PIPELINING:
//! replies go out in order, one per command, however the commands arrive).

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::{DeliverError, Envelope, InboundSink, ListenerConfig};

/// Longest command line taken (RFC 5321 says 512 with the CRLF; room for parameters).
const MAX_COMMAND_LINE: usize = 4096;
/// Bad commands in a session before it is closed.
const MAX_ERRORS: u32 = 20;

/// One line read from the client.
enum Line {
    /// With its line ending.
    Complete,
    /// Longer than allowed: read to its end and dropped.
    TooLong,
    /// The client closed the connection.
    Eof,
}

/// Reads up to and including `\n` into `buf` (cleared first), keeping at most `limit` bytes.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(Line::Eof);
        }
        let (taken, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        if !too_long {
            if buf.len() + taken > limit {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&available[..taken]);
            }
        }
        reader.consume(taken);
        if done {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Complete
            });
        }
    }
}

async fn reply<W: AsyncWrite + Unpin>(writer: &mut W, text: &str) -> io::Result<()> {
    writer.write_all(text.as_bytes()).await?;
    writer.write_all(b"\r\n").await?;
    writer.flush().await
}

/// The state of one SMTP session.
struct Session<'a> {
    config: &'a ListenerConfig,
    sink: &'a dyn InboundSink,
    greeted: bool,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

/// What a command asks the session loop to do after answering.
enum Next {
    Continue,
    ReadData,
    Quit,
}

pub(super) async fn serve(
    stream: TcpStream,
    config: &ListenerConfig,
    sink: &dyn InboundSink,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut session = Session {
        config,
        sink,
        greeted: false,
        mail_from: None,
        rcpt_to: Vec::new(),
    };
    reply(
        &mut writer,
        &format!("220 {} ESMTP Helpdesk", config.hostname),
    )
    .await?;
    let mut line = Vec::with_capacity(128);
    let mut errors = 0;
    loop {
        let read = tokio::select! {
            _ = shutdown.changed() => {
                return reply(&mut writer, "421 4.3.2 Service shutting down").await;
            }
            read = tokio::time::timeout(config.idle_timeout, read_line(&mut reader, &mut line, MAX_COMMAND_LINE)) => read,
        };
        let (code, text, next) = match read {
            Err(_elapsed) => return reply(&mut writer, "421 4.4.2 Idle too long").await,
            Ok(read) => match read? {
                Line::Eof => return Ok(()),
                Line::TooLong => (500, "5.5.2 Line too long".to_owned(), Next::Continue),
                Line::Complete => session.command(&line).await,
            },
        };
        if code >= 500 {
            errors += 1;
        }
        if errors > MAX_ERRORS {
            return reply(&mut writer, "421 4.7.0 Too many errors").await;
        }
        reply(&mut writer, &format_reply(code, &text)).await?;
        match next {
            Next::Continue => {}
            Next::Quit => return Ok(()),
            Next::ReadData => {
                let raw = tokio::select! {
                    _ = shutdown.changed() => {
                        return reply(&mut writer, "421 4.3.2 Service shutting down").await;
                    }
                    raw = read_data(&mut reader, &mut line, config) => raw?,
                };
                let answer = match raw {
                    Data::Gone => return Ok(()),
                    Data::TooBig => {
                        session.reset();
                        "552 5.3.4 Message too big".to_owned()
                    }
                    Data::Mail(raw) => session.deliver(raw).await,
                };
                reply(&mut writer, &answer).await?;
            }
        }
    }
}

/// What came after `354`.
enum Data {
    /// The mail, dot-unstuffed, up to (without) the lone dot.
    Mail(Vec<u8>),
    /// It grew past `max_size`: read to its end and dropped.
    TooBig,
    /// The client went away or fell silent.
    Gone,
}

/// Reads the mail after `354` up to the lone dot.
async fn read_data<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    config: &ListenerConfig,
) -> io::Result<Data> {
    let mut mail = Some(Vec::new());
    loop {
        let budget = match &mail {
            Some(mail) => config.max_size.saturating_sub(mail.len()) + 3,
            None => MAX_COMMAND_LINE,
        };
        let read = match tokio::time::timeout(config.idle_timeout, read_line(reader, line, budget))
            .await
        {
            Err(_elapsed) => return Ok(Data::Gone),
            Ok(read) => read?,
        };
        match read {
            Line::Eof => return Ok(Data::Gone),
            Line::TooLong => mail = None,
            Line::Complete if line.as_slice() == b".\r\n" || line.as_slice() == b".\n" => {
                return Ok(mail.map_or(Data::TooBig, Data::Mail));
            }
            Line::Complete => {
                if let Some(taken) = &mut mail {
                    let unstuffed = line.strip_prefix(b".").unwrap_or(line);
                    if taken.len() + unstuffed.len() > config.max_size {
                        mail = None;
                    } else {
                        taken.extend_from_slice(unstuffed);
                    }
                }
            }
        }
    }
}

impl Session<'_> {
    fn reset(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }

    async fn command(&mut self, line: &[u8]) -> (u16, String, Next) {
        let Ok(text) = std::str::from_utf8(line) else {
            return (500, "5.5.2 Command is not UTF-8".to_owned(), Next::Continue);
        };
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, rest) = text.split_once(' ').unwrap_or((text, ""));
        let rest = rest.trim();
        let verb = verb.to_ascii_uppercase();
        let ok = |code: u16, text: &str| (code, text.to_owned(), Next::Continue);
        match verb.as_str() {
            "EHLO" | "HELO" if rest.is_empty() => ok(501, "5.5.4 Say who you are"),
            "EHLO" => {
                self.greeted = true;
                self.reset();
                let text = format!(
                    "{}\nSIZE {}\n8BITMIME\nPIPELINING\nENHANCEDSTATUSCODES",
                    self.config.hostname, self.config.max_size
                );
                (250, text, Next::Continue)
            }
            "HELO" => {
                self.greeted = true;
                self.reset();
                ok(250, &self.config.hostname.clone())
            }
            "MAIL" => self.mail(rest),
            "RCPT" => self.rcpt(rest).await,
            "DATA" if !rest.is_empty() => ok(501, "5.5.4 DATA takes no parameters"),
            "DATA" if self.mail_from.is_none() => ok(503, "5.5.1 MAIL first"),
            "DATA" if self.rcpt_to.is_empty() => ok(554, "5.5.1 No valid recipients"),
            "DATA" => (
                354,
                "Start mail input; end with <CRLF>.<CRLF>".to_owned(),
                Next::ReadData,
            ),
            "RSET" => {
                self.reset();
                ok(250, "2.0.0 Reset")
            }
            "NOOP" => ok(250, "2.0.0 OK"),
            "VRFY" => ok(252, "2.5.0 Cannot verify, send some mail"),
            "QUIT" => (221, "2.0.0 Bye".to_owned(), Next::Quit),
            "AUTH" | "STARTTLS" | "BDAT" | "ETRN" | "EXPN" | "HELP" | "TURN" => {
                ok(502, "5.5.1 Not implemented")
            }
            _ => ok(500, "5.5.2 Unknown command"),
        }
    }

    fn mail(&mut self, rest: &str) -> (u16, String, Next) {
        let ok = |code: u16, text: &str| (code, text.to_owned(), Next::Continue);
        if !self.greeted {
            return ok(503, "5.5.1 EHLO first");
        }
        if self.mail_from.is_some() {
            return ok(503, "5.5.1 Nested MAIL");
        }
        let Some((path, params)) = parse_path(rest, "FROM:") else {
            return ok(501, "5.5.4 Syntax: MAIL FROM:<address>");
        };
        for param in params.split_whitespace() {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<u64>() {
                    Ok(size) if size > self.config.max_size as u64 => {
                        return ok(552, "5.3.4 Message too big");
                    }
                    Ok(_) => {}
                    Err(_) => return ok(501, "5.5.4 Bad SIZE"),
                },
                "BODY" if value.eq_ignore_ascii_case("7BIT") => {}
                "BODY" if value.eq_ignore_ascii_case("8BITMIME") => {}
                _ => return ok(555, "5.5.4 Parameter not supported"),
            }
        }
        self.mail_from = Some(path.to_owned());
        ok(250, "2.1.0 Sender OK")
    }

    async fn rcpt(&mut self, rest: &str) -> (u16, String, Next) {
        let ok = |code: u16, text: &str| (code, text.to_owned(), Next::Continue);
        if self.mail_from.is_none() {
            return ok(503, "5.5.1 MAIL first");
        }
        let Some((path, params)) = parse_path(rest, "TO:") else {
            return ok(501, "5.5.4 Syntax: RCPT TO:<address>");
        };
        if path.is_empty() {
            return ok(501, "5.1.3 Empty recipient");
        }
        if !params.trim().is_empty() {
            return ok(555, "5.5.4 Parameter not supported");
        }
        if self.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(path)) {
            return ok(250, "2.1.5 Recipient OK");
        }
        if self.rcpt_to.len() >= self.config.max_recipients {
            return ok(452, "4.5.3 Too many recipients");
        }
        match self.sink.accepts(path).await {
            Ok(true) => {
                self.rcpt_to.push(path.to_owned());
                ok(250, "2.1.5 Recipient OK")
            }
            Ok(false) | Err(DeliverError::Permanent(_)) => ok(550, "5.1.1 No such mailbox here"),
            Err(DeliverError::Temporary(err)) => {
                tracing::warn!(%err, "SMTP listener: recipient check failed");
                ok(451, "4.3.0 Try again later")
            }
        }
    }

    /// Hands a complete mail to the sink; answers only once it returned.
    async fn deliver(&mut self, raw: Vec<u8>) -> String {
        let envelope = Envelope {
            mail_from: self.mail_from.take().unwrap_or_default(),
            rcpt_to: std::mem::take(&mut self.rcpt_to),
        };
        match self.sink.deliver(envelope, raw).await {
            Ok(()) => "250 2.0.0 Committed".to_owned(),
            Err(DeliverError::Temporary(err)) => {
                tracing::warn!(%err, "SMTP listener: delivery failed, client told to retry");
                "451 4.3.0 Try again later".to_owned()
            }
            Err(DeliverError::Permanent(err)) => format!("554 5.6.0 {}", one_line(&err)),
        }
    }
}

/// `code text`, or a multi-line answer when `text` has several lines (`250-…`, then `250 …`).
fn format_reply(code: u16, text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let last = lines.len() - 1;
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| format!("{code}{}{line}", if i == last { ' ' } else { '-' }))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// Splits `FROM:<path> params` (keyword case-insensitive, spaces after the colon allowed)
/// into the address without `<>` (source routes dropped) and the parameters.
fn parse_path<'a>(rest: &'a str, keyword: &str) -> Option<(&'a str, &'a str)> {
    let head = rest.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = rest[keyword.len()..].trim_start();
    let (path, params) = if let Some(inner) = rest.strip_prefix('<') {
        let end = inner.find('>')?;
        (&inner[..end], &inner[end + 1..])
    } else {
        rest.split_once(' ').unwrap_or((rest, ""))
    };
    // RFC 5321 source route ("@a,@b:user@host"): only the mailbox counts.
    let path = match path.strip_prefix('@') {
        Some(route) => route.split_once(':')?.1,
        None => path,
    };
    if path
        .chars()
        .any(|c| c.is_control() || c == ' ' || c == '<' || c == '>')
    {
        return None;
    }
    Some((path, params))
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}
