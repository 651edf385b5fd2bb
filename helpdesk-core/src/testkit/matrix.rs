//! The authorization matrix of API-access.md, from one table: every operation on a
//! ticket by every relation to it (admin, agents at each group level and outside the
//! group, the requester, a CC, a colleague whom the organization's sharing shows the
//! ticket, one whom it does not, a stranger), each on a fresh ticket, with the answer
//! the contract gives.

use std::sync::Arc;

use bytes::Bytes;
use uuid::Uuid;

use super::World;
use crate::Error;
use crate::group::{Access, NewGroup};
use crate::message::{MessagePageQuery, NewMessage};
use crate::organization::{NewOrganization, Sharing};
use crate::page::PageRequest;
use crate::principal::Role;
use crate::store::Store;
use crate::testkit::Who;
use crate::ticket::{CcTarget, NewTicket, Priority, Ticket, TicketPatch};
use crate::user::NewUser;

/// What an operation answered, as the matrix writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// `O`: done.
    Ok,
    /// `N`: not found (the ticket is invisible).
    NotFound,
    /// `F`: forbidden (role, level or relation too low).
    Forbidden,
    /// `FF`: a field the caller may not set.
    ForbiddenField,
}

impl Answer {
    fn parse(s: &str) -> Answer {
        match s {
            "O" => Answer::Ok,
            "N" => Answer::NotFound,
            "F" => Answer::Forbidden,
            "FF" => Answer::ForbiddenField,
            other => panic!("unknown answer {other:?} in the matrix"),
        }
    }

    fn of(r: crate::Result<()>) -> Result<Answer, Error> {
        match r {
            Ok(()) => Ok(Answer::Ok),
            Err(Error::NotFound) => Ok(Answer::NotFound),
            Err(Error::Forbidden(_)) => Ok(Answer::Forbidden),
            Err(Error::ForbiddenField(_)) => Ok(Answer::ForbiddenField),
            Err(other) => Err(other),
        }
    }
}

/// The operations, each on a fresh ticket.
#[derive(Debug, Clone, Copy)]
enum Op {
    See,
    Timeline,
    ReadMessages,
    ListAttachments,
    MarkRead,
    PostPublic,
    PostNote,
    Upload,
    PatchSubject,
    PatchPriority,
    Assign,
    Move,
    SetOrganization,
    AddCc,
    RemoveCc,
    FollowSelf,
    FollowOther,
    /// Merge it into another ticket of the requester's.
    Merge,
    /// Unmerge it (the admin merged it).
    Unmerge,
}

/// The columns, in order: who acts.
const ACTORS: [&str; 10] = [
    "admin",
    "full",
    "reply",
    "read",
    "outsider",
    "requester",
    "cc",
    "colleague",
    "unshared",
    "stranger",
];

/// The contract's answers: one row per operation, one column per actor ([`ACTORS`]).
const MATRIX: &[(Op, &str)] = &[
    //                         admin full reply read out | req cc coll unsh strg
    (Op::See, /*           */ "O O O O N  O O O N N"),
    (Op::Timeline, /*      */ "O O O O N  O O O N N"),
    (Op::ReadMessages, /*  */ "O O O O N  O O O N N"),
    (Op::ListAttachments, /**/ "O O O O N  O O O N N"),
    (Op::MarkRead, /*      */ "O O O O N  O O O N N"),
    (Op::PostPublic, /*    */ "O O O F N  O O F N N"),
    (Op::PostNote, /*      */ "O O O F N  FF FF F N N"),
    (Op::Upload, /*        */ "O O O F N  O O F N N"),
    (Op::PatchSubject, /*  */ "O O F F N  O F F N N"),
    (Op::PatchPriority, /* */ "O O F F N  FF F F N N"),
    (Op::Assign, /*        */ "O O F F N  FF F F N N"),
    (Op::Move, /*          */ "O O F F N  FF F F N N"),
    (Op::SetOrganization, /**/ "O O F F N  FF F F N N"),
    (Op::AddCc, /*         */ "O O O F N  O F F N N"),
    (Op::RemoveCc, /*      */ "O O O F N  O O F N N"),
    (Op::FollowSelf, /*    */ "O O O O N  F F F F F"),
    (Op::FollowOther, /*   */ "O O F F N  F F F F F"),
    (Op::Merge, /*         */ "O O F F N  F F F N N"),
    (Op::Unmerge, /*       */ "O O F F N  F F F N N"),
];

/// Everyone and everything the operations need.
struct Fixture {
    actors: Vec<Who>,
    admin: Who,
    requester: Who,
    cc: Who,
    full: Who,
    /// Staff who see the ticket and are none of the actors: whom others make follow.
    watcher: Who,
    other_group: Uuid,
    organization: Uuid,
}

impl Fixture {
    async fn new(w: &World) -> Fixture {
        let admin = w.admin().await;
        let organization =
            w.hd.create_organization(
                &admin.p,
                NewOrganization {
                    name: "Acme".into(),
                    domains: vec!["acme.test".into()],
                    sharing: Sharing::Managers,
                },
            )
            .await
            .unwrap()
            .id;
        let support = w.store.default_group().await.unwrap().id;
        let other_group =
            w.hd.create_group(
                &admin.p,
                NewGroup {
                    name: "Other".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .id;
        let full = w.agent().await;
        let reply = w.agent().await;
        let read = w.agent().await;
        let outsider = w.agent().await;
        let watcher = w.agent().await;
        w.hd.put_membership(&admin.p, support, reply.id(), Access::Reply)
            .await
            .unwrap();
        w.hd.put_membership(&admin.p, support, read.id(), Access::Read)
            .await
            .unwrap();
        w.hd.put_membership(&admin.p, other_group, outsider.id(), Access::Full)
            .await
            .unwrap();
        w.hd.remove_membership(&admin.p, support, outsider.id())
            .await
            .unwrap();
        let requester = member(w, "requester", None).await;
        let cc = member(w, "cc", None).await;
        let colleague = member(w, "colleague", Some(organization)).await;
        let unshared = member(w, "unshared", None).await;
        let stranger = w.customer().await;
        Fixture {
            actors: vec![
                admin.clone(),
                full.clone(),
                reply,
                read,
                outsider,
                requester.clone(),
                cc.clone(),
                colleague,
                unshared,
                stranger,
            ],
            admin,
            requester,
            cc,
            full,
            watcher,
            other_group,
            organization,
        }
    }

    /// A fresh ticket of the requester's (so of the organization), in the default
    /// group, with the CC on it.
    async fn ticket(&self, w: &World) -> Ticket {
        let t =
            w.hd.create_ticket(
                &self.admin.p,
                NewTicket {
                    requester_id: Some(self.requester.id()),
                    ..NewTicket::new("Printer", "On fire")
                },
            )
            .await
            .unwrap();
        assert_eq!(t.organization_id, Some(self.organization));
        w.hd.add_cc(&self.admin.p, t.id, CcTarget::User(self.cc.id()))
            .await
            .unwrap()
    }
}

/// A customer of the organization (a manager or not); with no organization given, the
/// one their email's domain names.
async fn member(w: &World, name: &str, manager: Option<Uuid>) -> Who {
    let user =
        w.hd.create_user(
            &crate::Principal::system(),
            NewUser {
                organization_id: manager,
                is_org_manager: manager.is_some(),
                ..NewUser::new(
                    &format!("{name}@acme.test"),
                    name,
                    Role::Customer,
                    super::PASSWORD,
                )
            },
        )
        .await
        .unwrap();
    assert!(user.organization_id.is_some(), "joined by domain");
    Who {
        p: crate::Principal::user(user.id, user.role),
        user,
    }
}

async fn run(w: &World, f: &Fixture, op: Op, who: &Who, t: &Ticket) -> crate::Result<()> {
    let p = &who.p;
    let patch = |patch: TicketPatch| async move { w.hd.update_ticket(p, t.id, patch).await };
    match op {
        Op::See => w.hd.get_ticket(p, t.id).await.map(drop),
        Op::Timeline => {
            w.hd.ticket_events(p, t.id, PageRequest::default())
                .await
                .map(drop)
        }
        Op::ReadMessages => {
            w.hd.list_messages(p, t.conversation_id, MessagePageQuery::default())
                .await
                .map(drop)
        }
        Op::ListAttachments => w.hd.ticket_attachments(p, t.id).await.map(drop),
        Op::MarkRead => w.hd.mark_all_read(p, t.conversation_id).await.map(drop),
        Op::PostPublic => {
            w.hd.send_message(p, t.conversation_id, NewMessage::text("Hello"))
                .await
                .map(drop)
        }
        Op::PostNote => {
            w.hd.send_message(
                p,
                t.conversation_id,
                NewMessage {
                    internal: true,
                    ..NewMessage::text("Between us")
                },
            )
            .await
            .map(drop)
        }
        Op::Upload => {
            let body =
                futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("invoice 4711"))]);
            w.hd.upload(p, "invoice.txt", "text/plain", Some(t.id), body)
                .await
                .map(drop)
        }
        Op::PatchSubject => patch(TicketPatch {
            subject: Some("Printer, still".into()),
            ..Default::default()
        })
        .await
        .map(drop),
        Op::PatchPriority => patch(TicketPatch {
            priority: Some(Priority::High),
            ..Default::default()
        })
        .await
        .map(drop),
        Op::Assign => patch(TicketPatch {
            assignee_id: Some(Some(f.full.id())),
            ..Default::default()
        })
        .await
        .map(drop),
        Op::Move => patch(TicketPatch {
            group_id: Some(f.other_group),
            ..Default::default()
        })
        .await
        .map(drop),
        Op::SetOrganization => patch(TicketPatch {
            organization_id: Some(None),
            ..Default::default()
        })
        .await
        .map(drop),
        Op::AddCc => {
            let target = member(w, &format!("target{}", Uuid::now_v7().simple()), None).await;
            w.hd.add_cc(p, t.id, CcTarget::User(target.id()))
                .await
                .map(drop)
        }
        Op::RemoveCc => w.hd.remove_cc(p, t.id, f.cc.id()).await,
        Op::FollowSelf => w.hd.follow(p, t.id, who.id()).await.map(drop),
        Op::FollowOther => w.hd.follow(p, t.id, f.watcher.id()).await.map(drop),
        Op::Merge => {
            let into = f.ticket(w).await;
            w.hd.merge_ticket(p, t.id, into.id).await.map(drop)
        }
        Op::Unmerge => {
            let into = f.ticket(w).await;
            w.hd.merge_ticket(&f.admin.p, t.id, into.id).await.unwrap();
            w.hd.unmerge_ticket(p, t.id).await.map(drop)
        }
    }
}

/// Every operation by every relation answers as the matrix says.
pub async fn authorization_matrix(store: Arc<dyn Store>) {
    let w = World::new(store);
    let f = Fixture::new(&w).await;
    let mut wrong = Vec::new();
    for (op, row) in MATRIX {
        let expected: Vec<Answer> = row.split_whitespace().map(Answer::parse).collect();
        assert_eq!(expected.len(), ACTORS.len(), "{op:?}: one answer per actor");
        for ((name, who), want) in ACTORS.iter().zip(&f.actors).zip(expected) {
            let t = f.ticket(&w).await;
            let got = match Answer::of(run(&w, &f, *op, who, &t).await) {
                Ok(answer) => answer,
                Err(e) => panic!("{op:?} by {name}: unexpected {e:?}"),
            };
            if got != want {
                wrong.push(format!("{op:?} by {name}: {got:?}, want {want:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
