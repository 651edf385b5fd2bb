//! The permission matrix at the service level: for each operation, each role acting on
//! its own resource and on someone else's, the outcome a caller gets. One table, read
//! top to bottom like the API's "who" columns; each cell runs on a fresh in-memory store.
#![cfg(feature = "testkit")]

use helpdesk_core::kb::{ArticleStatus, NewArticle};
use helpdesk_core::message::NewMessage;
use helpdesk_core::status::StatusCategory;
use helpdesk_core::testkit::{Who, World};
use helpdesk_core::ticket::{NewTicket, Priority, TicketPatch};
use helpdesk_core::user::{NewUser, UserPatch};
use helpdesk_core::{Error, Role};
use uuid::Uuid;

/// What a caller gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Forbidden,
    ForbiddenField,
    NotFound,
    Invalid,
}
use Outcome::*;
use helpdesk_core::notification::{NotificationFilter, NotificationList};
use helpdesk_core::page::PageRequest;
use helpdesk_core::user::UserFilter;

fn outcome<T: std::fmt::Debug>(r: helpdesk_core::Result<T>) -> Outcome {
    match r {
        Result::Ok(_) => Ok,
        Err(Error::Forbidden(_)) => Forbidden,
        Err(Error::ForbiddenField(_)) => ForbiddenField,
        Err(Error::NotFound) => NotFound,
        Err(Error::Validation(_)) => Invalid,
        Err(e) => panic!("an outcome outside the matrix: {e:?}"),
    }
}

/// Whose resource the caller acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whose {
    Own,
    Other,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    GetTicket,
    EditTicketSubject,
    SetTicketPriority,
    SetTicketPending,
    ResolveTicket,
    DeleteTicket,
    TicketTimeline,
    OpenTicketOnBehalf,
    ReadTicketConversation,
    PostInternalNote,
    GetDirect,
    PostToDirect,
    MarkDirectRead,
    RenameGroup,
    AddGroupMember,
    RemoveGroupMember,
    EditMessage,
    DeleteMessage,
    MessageReceipts,
    MarkNotificationRead,
    GetAttachment,
    AttachUpload,
    ListUsers,
    CreateUser,
    UpdateUser,
    WriteArticle,
    ReadDraftArticle,
}

/// Cells in the order customer own/other, agent own/other, admin own/other.
const MATRIX: &[(Op, [Outcome; 6])] = &[
    (Op::GetTicket, [Ok, NotFound, Ok, Ok, Ok, Ok]),
    (Op::EditTicketSubject, [Ok, NotFound, Ok, Ok, Ok, Ok]),
    (
        Op::SetTicketPriority,
        [ForbiddenField, NotFound, Ok, Ok, Ok, Ok],
    ),
    (Op::SetTicketPending, [Forbidden, NotFound, Ok, Ok, Ok, Ok]),
    (Op::ResolveTicket, [Ok, NotFound, Ok, Ok, Ok, Ok]),
    (
        Op::DeleteTicket,
        [Forbidden, Forbidden, Forbidden, Forbidden, Ok, Ok],
    ),
    (Op::TicketTimeline, [Ok, NotFound, Ok, Ok, Ok, Ok]),
    (Op::OpenTicketOnBehalf, [Ok, ForbiddenField, Ok, Ok, Ok, Ok]),
    (Op::ReadTicketConversation, [Ok, NotFound, Ok, Ok, Ok, Ok]),
    (
        Op::PostInternalNote,
        [ForbiddenField, NotFound, Ok, Ok, Ok, Ok],
    ),
    (Op::GetDirect, [Ok, NotFound, Ok, NotFound, Ok, Ok]),
    (
        Op::PostToDirect,
        [Ok, NotFound, Ok, NotFound, Ok, Forbidden],
    ),
    (Op::MarkDirectRead, [Ok, NotFound, Ok, NotFound, Ok, Ok]),
    (Op::RenameGroup, [Ok, NotFound, Ok, NotFound, Ok, Forbidden]),
    (
        Op::AddGroupMember,
        [Ok, NotFound, Ok, NotFound, Ok, Forbidden],
    ),
    (
        Op::RemoveGroupMember,
        [Ok, Forbidden, Ok, Forbidden, Ok, Forbidden],
    ),
    (
        Op::EditMessage,
        [Ok, Forbidden, Ok, Forbidden, Ok, Forbidden],
    ),
    (Op::DeleteMessage, [Ok, Forbidden, Ok, Forbidden, Ok, Ok]),
    (Op::MessageReceipts, [Ok, Forbidden, Ok, Ok, Ok, Ok]),
    (
        Op::MarkNotificationRead,
        [Ok, NotFound, Ok, NotFound, Ok, NotFound],
    ),
    (
        Op::GetAttachment,
        [Ok, NotFound, Ok, NotFound, Ok, NotFound],
    ),
    (Op::AttachUpload, [Ok, Invalid, Ok, Invalid, Ok, Invalid]),
    (Op::ListUsers, [Forbidden, Forbidden, Ok, Ok, Ok, Ok]),
    (
        Op::CreateUser,
        [Forbidden, Forbidden, Forbidden, Forbidden, Ok, Ok],
    ),
    (
        Op::UpdateUser,
        [Forbidden, Forbidden, Forbidden, Forbidden, Ok, Ok],
    ),
    (Op::WriteArticle, [Forbidden, Forbidden, Ok, Ok, Ok, Ok]),
    (Op::ReadDraftArticle, [NotFound, NotFound, Ok, Ok, Ok, Ok]),
];

struct Cell {
    w: World,
    me: Who,
    /// Another user of the same role.
    peer: Who,
    customer: Who,
    agent: Who,
    agent2: Who,
}

impl Cell {
    async fn new(role: Role) -> Cell {
        let w = World::new(helpdesk_core::testkit::memory());
        let me = w.user(role).await;
        let peer = w.user(role).await;
        let customer = w.customer().await;
        let agent = w.agent().await;
        let agent2 = w.agent().await;
        Cell {
            w,
            me,
            peer,
            customer,
            agent,
            agent2,
        }
    }

    /// My ticket, or someone else's (a customer's).
    async fn ticket(&self, whose: Whose) -> helpdesk_core::ticket::Ticket {
        match whose {
            Whose::Own => self.w.ticket(&self.me, "Mine").await,
            Whose::Other => self.w.ticket(&self.customer, "Theirs").await,
        }
    }

    /// A direct conversation I am in (with an agent), or one between two others.
    async fn direct(&self, whose: Whose) -> Uuid {
        match whose {
            Whose::Own => self.w.direct(&self.me, &self.agent).await,
            Whose::Other => self.w.direct(&self.agent, &self.agent2).await,
        }
    }

    /// A group I created (with two agents), or one of others that I am not in.
    async fn group(&self, whose: Whose) -> Uuid {
        match whose {
            Whose::Own => {
                self.w
                    .group(&self.me, &[&self.agent, &self.agent2], "Mine")
                    .await
            }
            Whose::Other => self.w.group(&self.agent, &[&self.agent2], "Theirs").await,
        }
    }

    /// A group someone else created that I am a member of, with two agents.
    async fn joined_group(&self) -> Uuid {
        self.w
            .group(&self.agent, &[&self.me, &self.agent2], "Joined")
            .await
    }

    /// A message of mine, or of an agent, in a group we are both in.
    async fn message(&self, whose: Whose) -> (Uuid, Uuid) {
        let g = self.joined_group().await;
        let sender = match whose {
            Whose::Own => &self.me,
            Whose::Other => &self.agent,
        };
        (g, self.w.send(sender, g, "hello").await.message.id)
    }

    async fn upload(&self, who: &Who) -> Uuid {
        let body = futures_util::stream::iter(vec![Result::<_, std::io::Error>::Ok(
            bytes::Bytes::from_static(b"x"),
        )]);
        self.w
            .hd
            .upload(&who.p, "x.txt", "text/plain", None, body)
            .await
            .unwrap()
            .id
    }

    async fn run(&self, op: Op, whose: Whose) -> Outcome {
        let hd = &self.w.hd;
        let p = &self.me.p;
        match op {
            Op::GetTicket => outcome(hd.get_ticket(p, self.ticket(whose).await.id).await),
            Op::EditTicketSubject => {
                let t = self.ticket(whose).await;
                outcome(
                    hd.update_ticket(
                        p,
                        t.id,
                        TicketPatch {
                            subject: Some("Edited".into()),
                            ..Default::default()
                        },
                    )
                    .await,
                )
            }
            Op::SetTicketPriority => {
                let t = self.ticket(whose).await;
                outcome(
                    hd.update_ticket(
                        p,
                        t.id,
                        TicketPatch {
                            priority: Some(Priority::High),
                            ..Default::default()
                        },
                    )
                    .await,
                )
            }
            Op::SetTicketPending | Op::ResolveTicket => {
                let t = self.ticket(whose).await;
                let to = match op {
                    Op::SetTicketPending => StatusCategory::Pending,
                    _ => StatusCategory::Resolved,
                };
                outcome(
                    hd.update_ticket(
                        p,
                        t.id,
                        TicketPatch {
                            status: Some(to.into()),
                            ..Default::default()
                        },
                    )
                    .await,
                )
            }
            Op::DeleteTicket => outcome(hd.delete_ticket(p, self.ticket(whose).await.id).await),
            Op::TicketTimeline => {
                let t = self.ticket(whose).await;
                outcome(hd.ticket_events(p, t.id, PageRequest::default()).await)
            }
            Op::OpenTicketOnBehalf => {
                let mut input = NewTicket::new("On behalf", "x");
                if whose == Whose::Other {
                    input.requester_id = Some(self.customer.id());
                }
                outcome(hd.create_ticket(p, input).await)
            }
            Op::ReadTicketConversation => {
                let t = self.ticket(whose).await;
                outcome(hd.get_conversation(p, t.conversation_id).await)
            }
            Op::PostInternalNote => {
                let t = self.ticket(whose).await;
                let note = NewMessage {
                    content: "note".into(),
                    internal: true,
                    ..Default::default()
                };
                outcome(hd.send_message(p, t.conversation_id, note).await)
            }
            Op::GetDirect => outcome(hd.get_conversation(p, self.direct(whose).await).await),
            Op::PostToDirect => {
                let d = self.direct(whose).await;
                outcome(hd.send_message(p, d, NewMessage::text("hi")).await)
            }
            Op::MarkDirectRead => {
                let d = self.direct(whose).await;
                outcome(hd.mark_all_read(p, d).await)
            }
            Op::RenameGroup => {
                let g = self.group(whose).await;
                outcome(hd.rename_conversation(p, g, "Renamed").await)
            }
            Op::AddGroupMember => {
                let g = self.group(whose).await;
                let extra = self.w.agent().await;
                outcome(hd.add_member(p, g, extra.id()).await)
            }
            Op::RemoveGroupMember => {
                // Own: my group, removing a member. Other: a group I joined, removing
                // another member.
                let g = match whose {
                    Whose::Own => self.group(Whose::Own).await,
                    Whose::Other => self.joined_group().await,
                };
                outcome(hd.remove_member(p, g, self.agent2.id()).await)
            }
            Op::EditMessage => {
                let (g, m) = self.message(whose).await;
                outcome(hd.edit_message(p, g, m, "edited").await)
            }
            Op::DeleteMessage => {
                let (g, m) = self.message(whose).await;
                outcome(hd.delete_message(p, g, m).await)
            }
            Op::MessageReceipts => {
                let (g, m) = self.message(whose).await;
                outcome(hd.receipts(p, g, m).await)
            }
            Op::MarkNotificationRead => {
                // A reply to a message gives its author a notification.
                let author = match whose {
                    Whose::Own => &self.me,
                    Whose::Other => &self.agent2,
                };
                let g = self.joined_group().await;
                let root = self.w.send(author, g, "root").await.message.id;
                let replier = if author.id() == self.agent.id() {
                    &self.agent2
                } else {
                    &self.agent
                };
                hd.send_message(&replier.p, g, NewMessage::reply("re", root))
                    .await
                    .unwrap();
                let NotificationList { page, .. } = hd
                    .list_notifications(&author.p, NotificationFilter::default())
                    .await
                    .unwrap();
                outcome(hd.mark_notification_read(p, page.items[0].id).await)
            }
            Op::GetAttachment => {
                let owner = match whose {
                    Whose::Own => &self.me,
                    Whose::Other => &self.peer,
                };
                let id = self.upload(owner).await;
                outcome(hd.get_attachment(p, id).await)
            }
            Op::AttachUpload => {
                let owner = match whose {
                    Whose::Own => &self.me,
                    Whose::Other => &self.agent,
                };
                let id = self.upload(owner).await;
                let d = self.direct(Whose::Own).await;
                let input = NewMessage {
                    content: "file".into(),
                    attachment_ids: vec![id],
                    ..Default::default()
                };
                outcome(hd.send_message(p, d, input).await)
            }
            Op::ListUsers => outcome(hd.list_users(p, UserFilter::default()).await),
            Op::CreateUser => {
                let role = match whose {
                    Whose::Own => Role::Customer,
                    Whose::Other => Role::Admin,
                };
                outcome(
                    hd.create_user(
                        p,
                        NewUser::new("made@example.com", "Made", role, "long enough password"),
                    )
                    .await,
                )
            }
            Op::UpdateUser => {
                let target = match whose {
                    Whose::Own => self.me.id(),
                    Whose::Other => self.peer.id(),
                };
                outcome(
                    hd.update_user(
                        p,
                        target,
                        UserPatch {
                            name: Some("Renamed".into()),
                            ..Default::default()
                        },
                    )
                    .await,
                )
            }
            Op::WriteArticle => outcome(
                hd.create_article(
                    p,
                    NewArticle {
                        title: format!("{whose:?} article"),
                        ..Default::default()
                    },
                )
                .await,
            ),
            Op::ReadDraftArticle => {
                let author = match whose {
                    Whose::Own => &self.agent,
                    Whose::Other => &self.agent2,
                };
                let draft = hd
                    .create_article(
                        &author.p,
                        NewArticle {
                            title: "Draft".into(),
                            status: Some(ArticleStatus::Draft),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                outcome(hd.get_article(Some(p), &draft.slug).await)
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_matrix() {
    let roles = [Role::Customer, Role::Agent, Role::Admin];
    let mut failures = Vec::new();
    let mut cells = 0;
    for (op, expected) in MATRIX {
        for (r, role) in roles.iter().enumerate() {
            for (k, whose) in [Whose::Own, Whose::Other].into_iter().enumerate() {
                let want = expected[r * 2 + k];
                let cell = Cell::new(*role).await;
                let got = cell.run(*op, whose).await;
                cells += 1;
                if got != want {
                    failures.push(format!(
                        "{op:?} as {} on {whose:?}: expected {want:?}, got {got:?}",
                        role.as_str()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cells, MATRIX.len() * 6);
}

/// Anonymous readers: published articles only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_reads_published_articles_only() {
    let w = World::new(helpdesk_core::testkit::memory());
    let agent = w.agent().await;
    let published =
        w.hd.create_article(
            &agent.p,
            NewArticle {
                title: "Public".into(),
                status: Some(ArticleStatus::Published),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let draft =
        w.hd.create_article(
            &agent.p,
            NewArticle {
                title: "Draft".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        outcome(w.hd.get_article(None, &published.slug).await),
        Outcome::Ok
    );
    assert_eq!(
        outcome(w.hd.get_article(None, &draft.slug).await),
        Outcome::NotFound
    );
}

/// A readability check made for one caller does not let another post: the conversation
/// is checked again for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readable_check_for_one_caller_is_made_again_for_another() {
    let w = World::new(helpdesk_core::testkit::memory());
    let (agent, agent2, customer) = (w.agent().await, w.agent().await, w.customer().await);
    let theirs = w.direct(&agent, &agent2).await;
    let checked = w.hd.check_readable(&agent.p, theirs).await.unwrap();
    assert_eq!(checked.conversation().id, theirs);
    let by_customer =
        w.hd.send_message_to(&customer.p, checked.clone(), NewMessage::text("hi"))
            .await;
    assert_eq!(outcome(by_customer), Outcome::NotFound);
    let by_agent =
        w.hd.send_message_to(&agent.p, checked, NewMessage::text("hi"))
            .await;
    assert_eq!(outcome(by_agent), Outcome::Ok);
}
