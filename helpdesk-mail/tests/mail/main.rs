//! helpdesk-mail against real servers on loopback: aiosmtpd (PyPI) for the sender,
//! Debian's dovecot for the poller, Python's smtplib as the listener's client. Each test
//! starts its own server on a free port; `tests/mail/install` installs them (CI runs it).

mod imap;
mod smtp_listener;
mod smtp_send;
mod support;
