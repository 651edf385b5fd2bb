//! Notification mail (API-email.md "Outbound"): the notifications of users with
//! `email_notifications` are also mailed, through their ticket's mailbox, else the
//! `is_default` one (a mailbox that does not send: not mailed), except a
//! `ticket_message` to a requester or CC who gets the reply mail itself.
//!
//! The one home of that rule: every operation that writes notifications reads a
//! [`NotificationMailPlan`] before its write ([`Helpdesk::notification_mail_plan`], or
//! [`Helpdesk::mail_notifications`] when its effects are built beforehand) and adds the
//! mail to the same [`Effects`], so the mail is recorded atomically with the
//! notification and the outbox worker sends it.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use crate::Helpdesk;
use crate::email::{OutboundKind, OutboundMail, OutboundStatus, OutboundWrite};
use crate::error::Result;
use crate::event::Effects;
use crate::mail::{self, MailKey, NotificationMail, OutgoingMailbox, Recipient};
use crate::mailbox::{Mailbox, Outbound};
use crate::notification::{Notification, NotificationKind};
use crate::ticket::Ticket;

/// What mailing a batch of notifications needs, read before the operation that writes
/// them; [`NotificationMailPlan::add_to`] builds the mail inside it.
pub(crate) struct NotificationMailPlan {
    /// The recipients who opted in (active users with `email_notifications`).
    opted_in: HashMap<Uuid, OptedIn>,
    /// Every mailbox.
    senders: Vec<Sender>,
    key: MailKey,
    loop_id: String,
}

/// A user whose notifications are mailed.
#[derive(Debug, Clone)]
struct OptedIn {
    address: String,
    name: String,
    /// The address is suppressed: the mail is recorded `suppressed`, never sent.
    suppressed: bool,
}

/// A mailbox as notification mail sees it.
#[derive(Debug, Clone)]
struct Sender {
    id: Uuid,
    address: String,
    name: String,
    is_default: bool,
    /// It has SMTP `outbound`.
    sends: bool,
}

impl Sender {
    fn of(m: &Mailbox) -> Self {
        Sender {
            id: m.id,
            address: m.address.clone(),
            name: m.name.clone(),
            is_default: m.is_default,
            sends: matches!(m.outbound, Outbound::Smtp { .. }),
        }
    }
}

/// What a notification mail needs of its ticket.
#[derive(Debug, Clone)]
struct AboutTicket {
    id: Uuid,
    number: u64,
    mailbox_id: Option<Uuid>,
    requester_id: Uuid,
    cc: Vec<Uuid>,
}

impl AboutTicket {
    fn of(t: &Ticket) -> Self {
        AboutTicket {
            id: t.id,
            number: u64::try_from(t.number).unwrap_or_default(),
            mailbox_id: t.mailbox_id,
            requester_id: t.requester_id,
            cc: t.cc.clone(),
        }
    }
}

impl NotificationMailPlan {
    /// Adds the mail of `fx`'s notifications to `fx.mail.outbound`: one per notification
    /// of an opted-in user that has a sending mailbox, none for one mailed already. A
    /// notification about a ticket not in `tickets` is not mailed.
    pub(crate) fn add_to(&self, fx: &mut Effects, tickets: &[&Ticket]) {
        let about: Vec<AboutTicket> = tickets.iter().map(|t| AboutTicket::of(t)).collect();
        self.add(fx, &about);
    }

    fn add(&self, fx: &mut Effects, tickets: &[AboutTicket]) {
        let mut mails = Vec::new();
        for n in &fx.notifications {
            let mailed = |o: &OutboundWrite| o.mail.notification_id == Some(n.id);
            if fx.mail.outbound.iter().any(mailed) {
                continue;
            }
            let Some(user) = self.opted_in.get(&n.user_id) else {
                continue;
            };
            let ticket = match n.data.ticket_id {
                Some(id) => match tickets.iter().find(|t| t.id == id) {
                    Some(t) => Some(t),
                    None => continue,
                },
                None => None,
            };
            if n.kind == NotificationKind::TicketMessage
                && ticket.is_some_and(|t| gets_the_reply(t, n.user_id, fx))
            {
                continue;
            }
            let Some(sender) = self.sender_for(ticket) else {
                continue;
            };
            mails.extend(self.build(n, user, sender, ticket));
        }
        fx.mail.outbound.extend(mails);
    }

    /// The ticket's mailbox, else (no ticket, or a ticket without one) the default
    /// mailbox; only one that sends.
    fn sender_for(&self, ticket: Option<&AboutTicket>) -> Option<&Sender> {
        let found = match ticket.and_then(|t| t.mailbox_id) {
            Some(id) => self.senders.iter().find(|s| s.id == id),
            None => self.senders.iter().find(|s| s.is_default),
        };
        found.filter(|s| s.sends)
    }

    fn build(
        &self,
        n: &Notification,
        user: &OptedIn,
        sender: &Sender,
        ticket: Option<&AboutTicket>,
    ) -> Option<OutboundWrite> {
        let id = crate::clock::new_id();
        let token = ticket.map(|t| (t.number, self.key.personal_token(t.number, t.id, n.user_id)));
        let built = mail::build_notification(&NotificationMail {
            mailbox: OutgoingMailbox {
                address: &sender.address,
                name: &sender.name,
            },
            outbound_id: id,
            ticket: token
                .as_ref()
                .map(|(number, token)| (*number, token.as_str())),
            title: &n.title,
            body: &n.body,
            loop_id: &self.loop_id,
            to: Recipient {
                address: user.address.clone(),
                name: Some(user.name.clone()),
            },
            date: n.created_at,
        })
        .ok()?;
        let subject = match ticket {
            Some(t) => mail::outgoing_subject(t.number, &n.title, false),
            None => n.title.clone(),
        };
        Some(OutboundWrite {
            mail: OutboundMail {
                id,
                mailbox_id: sender.id,
                kind: OutboundKind::Notification,
                ticket_id: ticket.map(|t| t.id),
                message_id: None,
                notification_id: Some(n.id),
                to: vec![user.address.clone()],
                cc: Vec::new(),
                subject,
                internet_message_id: built.message_id,
                references: Vec::new(),
                status: match user.suppressed {
                    true => OutboundStatus::Suppressed,
                    false => OutboundStatus::Pending,
                },
                attempts: 0,
                last_smtp_code: None,
                last_error: None,
                rejected: Vec::new(),
                next_attempt_at: (!user.suppressed).then_some(n.created_at),
                sent_at: None,
                created_at: n.created_at,
            },
            raw: Arc::from(built.bytes),
        })
    }
}

/// Whether `user` is the ticket's requester or a CC and a reply mail on it is in `fx`:
/// the reply is theirs (sent to them, or `suppressed` for their address), not a
/// notification.
fn gets_the_reply(t: &AboutTicket, user: Uuid, fx: &Effects) -> bool {
    (t.requester_id == user || t.cc.contains(&user))
        && fx
            .mail
            .outbound
            .iter()
            .any(|o| o.mail.kind == OutboundKind::Reply && o.mail.ticket_id == Some(t.id))
}

impl Helpdesk {
    /// The plan for mailing notifications to `users`; `None` when none of them opted
    /// in. Reads the users at once, and the mailboxes and mail secrets only when
    /// someone opted in.
    pub(crate) async fn notification_mail_plan(
        &self,
        mut users: Vec<Uuid>,
    ) -> Result<Option<NotificationMailPlan>> {
        // Each user read once, however many notifications they get.
        users.sort_unstable();
        users.dedup();
        if users.is_empty() {
            return Ok(None);
        }
        let mut opted_in = HashMap::new();
        for u in self.st().get_users(&users).await? {
            if !u.is_active || !u.email_notifications {
                continue;
            }
            let suppressed = self.st().get_suppression(&u.email).await?.is_some();
            opted_in.insert(
                u.id,
                OptedIn {
                    address: u.email,
                    name: u.name,
                    suppressed,
                },
            );
        }
        if opted_in.is_empty() {
            return Ok(None);
        }
        let senders = self.st().list_mailboxes().await?;
        let secrets = self.mail_secrets().await?;
        Ok(Some(NotificationMailPlan {
            opted_in,
            senders: senders.iter().map(Sender::of).collect(),
            key: secrets.key.clone(),
            loop_id: secrets.installation_id.clone(),
        }))
    }

    /// Adds the mail of `fx`'s notifications to `fx` (for an operation whose effects
    /// are built before its write). `tickets`: those the notifications are about, as
    /// the operation leaves them; others are read.
    pub(crate) async fn mail_notifications(
        &self,
        fx: &mut Effects,
        tickets: &[&Ticket],
    ) -> Result<()> {
        if fx.notifications.is_empty() {
            return Ok(());
        }
        let users: Vec<Uuid> = fx.notifications.iter().map(|n| n.user_id).collect();
        let Some(plan) = self.notification_mail_plan(users).await? else {
            return Ok(());
        };
        let mut read = Vec::new();
        for n in &fx.notifications {
            if let Some(id) = n.data.ticket_id
                && !tickets.iter().any(|t| t.id == id)
                && !read.iter().any(|t: &Ticket| t.id == id)
                && let Some(t) = self.st().get_ticket(id).await?
            {
                read.push(t);
            }
        }
        let all: Vec<&Ticket> = tickets.iter().copied().chain(&read).collect();
        plan.add_to(fx, &all);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::NotificationData;
    use chrono::{TimeZone, Utc};

    const ALICE: Uuid = Uuid::from_u128(1);
    const CAROL: Uuid = Uuid::from_u128(2);
    const TICKET: Uuid = Uuid::from_u128(10);
    const SUPPORT: Uuid = Uuid::from_u128(20);
    const DEFAULT: Uuid = Uuid::from_u128(21);

    fn key() -> MailKey {
        MailKey::from_bytes([3; 32])
    }

    fn sender(id: Uuid, address: &str, is_default: bool, sends: bool) -> Sender {
        Sender {
            id,
            address: address.into(),
            name: "Support".into(),
            is_default,
            sends,
        }
    }

    fn plan(senders: Vec<Sender>) -> NotificationMailPlan {
        let user = |address: &str, name: &str| OptedIn {
            address: address.into(),
            name: name.into(),
            suppressed: false,
        };
        NotificationMailPlan {
            opted_in: HashMap::from([
                (ALICE, user("alice@example.com", "Alice")),
                (CAROL, user("carol@example.net", "Carol")),
            ]),
            senders,
            key: key(),
            loop_id: "loop-1".into(),
        }
    }

    fn ticket(mailbox_id: Option<Uuid>) -> AboutTicket {
        AboutTicket {
            id: TICKET,
            number: 42,
            mailbox_id,
            requester_id: CAROL,
            cc: Vec::new(),
        }
    }

    fn notification(
        user_id: Uuid,
        kind: NotificationKind,
        ticket_id: Option<Uuid>,
    ) -> Notification {
        Notification {
            id: crate::clock::new_id(),
            user_id,
            kind,
            title: "Ticket #42 was assigned to you".into(),
            body: "Printer on fire".into(),
            data: NotificationData {
                ticket_id,
                ..Default::default()
            },
            read_at: None,
            created_at: Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap(),
        }
    }

    fn effects(notifications: Vec<Notification>) -> Effects {
        Effects {
            notifications,
            ..Effects::none()
        }
    }

    fn text(w: &OutboundWrite) -> String {
        String::from_utf8_lossy(&w.raw).into_owned()
    }

    #[test]
    fn a_tickets_notification_goes_through_its_mailbox_with_a_personal_token() {
        let plan = plan(vec![
            sender(SUPPORT, "support@example.com", false, true),
            sender(DEFAULT, "help@example.com", true, true),
        ]);
        let n = notification(ALICE, NotificationKind::TicketAssigned, Some(TICKET));
        let mut fx = effects(vec![n.clone()]);
        plan.add(&mut fx, &[ticket(Some(SUPPORT))]);
        let [w] = fx.mail.outbound.as_slice() else {
            panic!("one mail: {:?}", fx.mail.outbound);
        };
        let m = &w.mail;
        assert_eq!(m.kind, OutboundKind::Notification);
        assert_eq!(m.mailbox_id, SUPPORT);
        assert_eq!(m.notification_id, Some(n.id));
        assert_eq!(m.ticket_id, Some(TICKET));
        assert_eq!(m.to, ["alice@example.com"]);
        assert_eq!(m.subject, "[#42] Ticket #42 was assigned to you");
        assert_eq!(m.status, OutboundStatus::Pending);
        assert_eq!(m.next_attempt_at, Some(n.created_at));
        let raw = text(w);
        assert!(
            raw.contains("From: \"Support\" <support@example.com>"),
            "{raw}"
        );
        assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
        let token = key().personal_token(42, TICKET, ALICE);
        assert!(
            raw.contains(&format!("Reply-To: <support+{token}@example.com>")),
            "{raw}"
        );
        assert!(raw.contains("Printer on fire"));
        // Asked again for the same effects: not mailed twice.
        plan.add(&mut fx, &[ticket(Some(SUPPORT))]);
        assert_eq!(fx.mail.outbound.len(), 1);
    }

    #[test]
    fn the_default_mailbox_sends_for_tickets_without_one_and_other_notifications() {
        let plan = plan(vec![
            sender(SUPPORT, "support@example.com", false, true),
            sender(DEFAULT, "help@example.com", true, true),
        ]);
        let mut fx = effects(vec![
            notification(ALICE, NotificationKind::TicketAssigned, Some(TICKET)),
            notification(ALICE, NotificationKind::Mention, None),
        ]);
        plan.add(&mut fx, &[ticket(None)]);
        let mails: Vec<&OutboundMail> = fx.mail.outbound.iter().map(|w| &w.mail).collect();
        assert_eq!(mails.len(), 2);
        assert!(mails.iter().all(|m| m.mailbox_id == DEFAULT));
        assert_eq!(mails[1].ticket_id, None);
        assert_eq!(mails[1].subject, "Ticket #42 was assigned to you");
        assert!(!text(&fx.mail.outbound[1]).contains("Reply-To"));
    }

    #[test]
    fn nothing_is_mailed_without_a_sending_mailbox_or_an_opt_in() {
        // No default mailbox.
        let only_support = plan(vec![sender(SUPPORT, "support@example.com", false, true)]);
        let mut fx = effects(vec![notification(
            ALICE,
            NotificationKind::TicketAssigned,
            Some(TICKET),
        )]);
        only_support.add(&mut fx, &[ticket(None)]);
        assert!(fx.mail.outbound.is_empty());
        // The ticket's mailbox does not send: no fallback to the default one.
        let silent = plan(vec![
            sender(SUPPORT, "support@example.com", false, false),
            sender(DEFAULT, "help@example.com", true, true),
        ]);
        silent.add(&mut fx, &[ticket(Some(SUPPORT))]);
        assert!(fx.mail.outbound.is_empty());
        // A user who did not opt in.
        let mut fx = effects(vec![notification(
            Uuid::from_u128(99),
            NotificationKind::TicketAssigned,
            Some(TICKET),
        )]);
        silent.add(&mut fx, &[ticket(None)]);
        assert!(fx.mail.outbound.is_empty());
    }

    #[test]
    fn a_requester_who_gets_the_reply_gets_no_message_notification_mail() {
        let plan = plan(vec![sender(SUPPORT, "support@example.com", false, true)]);
        let reply = |to: &str| OutboundWrite {
            mail: OutboundMail {
                id: Uuid::from_u128(30),
                mailbox_id: SUPPORT,
                kind: OutboundKind::Reply,
                ticket_id: Some(TICKET),
                message_id: None,
                notification_id: None,
                to: vec![to.into()],
                cc: Vec::new(),
                subject: "[#42] Printer on fire".into(),
                internet_message_id: "x@example.com".into(),
                references: Vec::new(),
                status: OutboundStatus::Pending,
                attempts: 0,
                last_smtp_code: None,
                last_error: None,
                rejected: Vec::new(),
                next_attempt_at: None,
                sent_at: None,
                created_at: Utc::now(),
            },
            raw: Arc::from(Vec::new()),
        };
        let message = notification(CAROL, NotificationKind::TicketMessage, Some(TICKET));
        let mut fx = effects(vec![message.clone()]);
        fx.mail.outbound.push(reply("Carol@Example.net"));
        plan.add(&mut fx, &[ticket(Some(SUPPORT))]);
        assert_eq!(fx.mail.outbound.len(), 1, "the reply only");
        // Left out of the reply (their address suppressed, say): still the reply's, and
        // a notification to the same address would be suppressed too.
        let mut fx = effects(vec![message]);
        fx.mail.outbound.push(reply("dave@example.net"));
        plan.add(&mut fx, &[ticket(Some(SUPPORT))]);
        assert_eq!(fx.mail.outbound.len(), 1, "the reply only");
        // Another kind to the requester is mailed beside the reply.
        let mut fx = effects(vec![notification(
            CAROL,
            NotificationKind::TicketStatusChanged,
            Some(TICKET),
        )]);
        fx.mail.outbound.push(reply("carol@example.net"));
        plan.add(&mut fx, &[ticket(Some(SUPPORT))]);
        assert_eq!(fx.mail.outbound.len(), 2);
    }

    #[test]
    fn a_suppressed_address_is_recorded_suppressed() {
        let mut plan = plan(vec![sender(SUPPORT, "support@example.com", true, true)]);
        if let Some(u) = plan.opted_in.get_mut(&ALICE) {
            u.suppressed = true;
        }
        let mut fx = effects(vec![notification(ALICE, NotificationKind::Mention, None)]);
        plan.add(&mut fx, &[]);
        let m = &fx.mail.outbound[0].mail;
        assert_eq!(m.status, OutboundStatus::Suppressed);
        assert_eq!(m.next_attempt_at, None);
    }
}
