//! Classification: automatic mail (never auto-answered, never moves a ticket), and our
//! own mail coming back (dropped as `own_mail`).

use super::parse::ParsedMail;
use super::token::base_address;

/// The header every mail we send carries, with this installation's loop id.
pub const LOOP_HEADER: &str = "X-Helpdesk-Loop";

/// Whether the mail was sent by a machine (`auto: true`): `Auto-Submitted` other than
/// `no`; `X-Autoreply`, `X-Autorespond` or `X-Autoresponder`; `Precedence` `auto_reply`,
/// `bulk`, `list` or `junk`; `X-Auto-Response-Suppress` naming `All`, `AutoReply`, `OOF`
/// or `DR`; `List-Id`; `List-Unsubscribe`; `Return-Path: <>` or a `From`
/// `mailer-daemon@`/`postmaster@` on a mail that is not a delivery report. (Delivery
/// reports are bounces, handled apart, and not "automatic".)
pub fn is_automatic(mail: &ParsedMail) -> bool {
    let auto_submitted = mail
        .headers_named("Auto-Submitted")
        .any(|v| !first_word(v).eq_ignore_ascii_case("no"));
    let autoreply = ["X-Autoreply", "X-Autorespond", "X-Autoresponder"]
        .iter()
        .any(|h| mail.header(h).is_some());
    let precedence = mail.headers_named("Precedence").any(|v| {
        matches!(
            first_word(v).to_ascii_lowercase().as_str(),
            "auto_reply" | "bulk" | "list" | "junk"
        )
    });
    let suppress = mail.headers_named("X-Auto-Response-Suppress").any(|v| {
        v.split([',', ' ']).map(str::trim).any(|w| {
            ["all", "autoreply", "oof", "dr"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k))
        })
    });
    let list = mail.header("List-Id").is_some() || mail.header("List-Unsubscribe").is_some();
    let null_return = mail
        .headers_named("Return-Path")
        .any(|v| v.replace(' ', "") == "<>");
    let daemon = mail.report.is_none()
        && mail.from.as_ref().is_some_and(|f| {
            let local = f.address.split('@').next().unwrap_or("");
            local == "mailer-daemon" || local == "postmaster"
        });
    auto_submitted || autoreply || precedence || suppress || list || null_return || daemon
}

/// The value before any `;` parameter or `(comment)`, trimmed.
fn first_word(v: &str) -> &str {
    v.split([';', '(']).next().unwrap_or("").trim()
}

/// Why a mail is our own, coming back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnMail {
    /// `From` is one of our mailbox addresses.
    FromMailbox,
    /// `X-Helpdesk-Loop` holds this installation's id.
    LoopHeader,
}

/// Whether the sender is one of the mailbox addresses (any case, `+` subaddress ignored).
pub fn from_is_mailbox<'a>(
    mail: &ParsedMail,
    mailbox_addresses: impl IntoIterator<Item = &'a str>,
) -> bool {
    let Some(from) = &mail.from else {
        return false;
    };
    let from = base_address(&from.address);
    mailbox_addresses
        .into_iter()
        .any(|a| base_address(a) == from)
}

/// Whether an `X-Helpdesk-Loop` header holds `installation_id`.
pub fn has_loop_header(mail: &ParsedMail, installation_id: &str) -> bool {
    let id = installation_id.trim();
    !id.is_empty()
        && mail
            .headers_named(LOOP_HEADER)
            .any(|v| v.trim().eq_ignore_ascii_case(id))
}

/// The own-mail checks that need no store: the mailbox addresses and this installation's
/// loop id. The pipeline adds the third (the Message-ID is one we sent) with its index.
pub fn own_mail<'a>(
    mail: &ParsedMail,
    mailbox_addresses: impl IntoIterator<Item = &'a str>,
    installation_id: &str,
) -> Option<OwnMail> {
    if from_is_mailbox(mail, mailbox_addresses) {
        Some(OwnMail::FromMailbox)
    } else if has_loop_header(mail, installation_id) {
        Some(OwnMail::LoopHeader)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::{ParseLimits, parse};

    fn mail(headers: &str) -> ParsedMail {
        let raw = format!(
            "From: Ann <ann@example.com>\r\nTo: support@help.org\r\nSubject: hi\r\n\
             Message-ID: <1@example.com>\r\n{headers}\r\nHello\r\n"
        );
        parse(raw.as_bytes(), ParseLimits::default()).unwrap()
    }

    #[test]
    fn each_automatic_sign_counts() {
        assert!(!is_automatic(&mail("")));
        assert!(!is_automatic(&mail("Auto-Submitted: no\r\n")));
        assert!(!is_automatic(&mail("Precedence: first-class\r\n")));
        assert!(!is_automatic(&mail(
            "X-Auto-Response-Suppress: RN, NRN\r\n"
        )));
        for h in [
            "Auto-Submitted: auto-replied\r\n",
            "Auto-Submitted: auto-generated; owner-email=x@y\r\n",
            "X-Autoreply: yes\r\n",
            "X-Autorespond: x\r\n",
            "X-Autoresponder: x\r\n",
            "Precedence: bulk\r\n",
            "Precedence: Auto_Reply\r\n",
            "Precedence: list\r\n",
            "Precedence: junk\r\n",
            "X-Auto-Response-Suppress: DR, RN\r\n",
            "X-Auto-Response-Suppress: OOF\r\n",
            "X-Auto-Response-Suppress: AutoReply\r\n",
            "X-Auto-Response-Suppress: All\r\n",
            "List-Id: <users.lists.example.org>\r\n",
            "List-Unsubscribe: <mailto:u@x>\r\n",
            "Return-Path: <>\r\n",
        ] {
            assert!(is_automatic(&mail(h)), "{h}");
        }
    }

    #[test]
    fn mailer_daemon_without_report_is_automatic() {
        let raw = "From: MAILER-DAEMON@mx.example.com\r\nSubject: x\r\n\r\nbody\r\n";
        let m = parse(raw.as_bytes(), ParseLimits::default()).unwrap();
        assert!(is_automatic(&m));
        let raw = "From: postmaster@mx.example.com\r\nSubject: x\r\n\r\nbody\r\n";
        assert!(is_automatic(
            &parse(raw.as_bytes(), ParseLimits::default()).unwrap()
        ));
    }

    #[test]
    fn own_mail_by_address_or_loop_header() {
        let m = mail("X-Helpdesk-Loop: inst-1\r\n");
        assert_eq!(
            own_mail(&m, ["support@help.org"], "inst-1"),
            Some(OwnMail::LoopHeader)
        );
        assert_eq!(own_mail(&m, ["support@help.org"], "inst-2"), None);
        assert_eq!(
            own_mail(&m, ["ANN+x@Example.com"], ""),
            Some(OwnMail::FromMailbox)
        );
        assert!(!has_loop_header(&mail(""), "inst-1"));
    }
}
