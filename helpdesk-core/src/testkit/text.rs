//! The text rule ([`crate::text`]): every store accepts and returns the same text, and
//! none is asked to store a C0 control character other than tab, newline and return.

use std::sync::Arc;

use super::*;
use crate::Error;
use crate::auth::Signup;
use crate::kb::ArticleSearch;
use crate::kb::{ArticlePatch, NewArticle};
use crate::ticket::{TicketFilter, TicketPatch};
use crate::user::UserFilter;
use crate::user::{ProfilePatch, UserPatch};

/// Asserts a validation error that names `field`.
fn refused<T: std::fmt::Debug>(r: crate::Result<T>, field: &str) {
    match r {
        Err(Error::Validation(errors)) if errors.iter().any(|e| e.field == field) => {}
        other => panic!("expected a validation error on `{field}`, got {other:?}"),
    }
}

/// Text with U+0000 or another C0 control is refused with a validation error naming the
/// field, on every path that takes text, and nothing is stored.
pub async fn control_characters_are_refused_on_every_path(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let carol = w.customer().await;
    let ticket = w.ticket(&carol, "Printer").await;
    let conv = ticket.conversation_id;
    let msg = w.send(&carol, conv, "hello").await.message;
    let group = w.group(&agent, &[&carol], "Team").await;
    let article =
        w.hd.create_article(
            &agent.p,
            NewArticle {
                title: "Reset".into(),
                body: "Steps".into(),
                slug: None,
                tags: vec![],
                status: None,
            },
        )
        .await
        .unwrap();
    let events_before = w.events().await.len();

    // Vertical tab and form feed are white space to `trim`: refused before trimming.
    for bad in [
        "a\u{0}b",
        "\u{1}",
        "x\u{1b}[31m",
        "\u{1f}",
        "\u{8}",
        "\u{b}padded",
        "padded\u{c}",
    ] {
        let ticket_input = |subject: &str, description: &str| NewTicket::new(subject, description);
        refused(
            w.hd.create_ticket(&carol.p, ticket_input(bad, "d")).await,
            "subject",
        );
        refused(
            w.hd.create_ticket(&carol.p, ticket_input("s", bad)).await,
            "description",
        );
        refused(
            w.hd.update_ticket(
                &agent.p,
                ticket.id,
                TicketPatch {
                    subject: Some(bad.into()),
                    ..Default::default()
                },
            )
            .await,
            "subject",
        );
        refused(
            w.hd.send_message(&carol.p, conv, NewMessage::text(bad))
                .await,
            "content",
        );
        refused(
            w.hd.edit_message(&carol.p, conv, msg.id, bad).await,
            "content",
        );
        refused(
            w.hd.rename_conversation(&agent.p, group, bad).await,
            "title",
        );
        refused(
            w.hd.create_user(
                &admin.p,
                NewUser::new("new@example.com", bad, Role::Agent, PASSWORD),
            )
            .await,
            "name",
        );
        refused(
            w.hd.update_user(
                &admin.p,
                carol.id(),
                UserPatch {
                    name: Some(bad.into()),
                    ..Default::default()
                },
            )
            .await,
            "name",
        );
        refused(
            w.hd.update_me(
                &carol.p,
                ProfilePatch {
                    name: Some(bad.into()),
                    ..Default::default()
                },
            )
            .await,
            "name",
        );
        refused(
            w.hd.signup(Signup {
                email: format!("x{bad}@example.com"),
                password: PASSWORD.into(),
                name: "X".into(),
            })
            .await,
            "email",
        );
        refused(
            w.hd.signup(Signup {
                email: "x@example.com".into(),
                password: format!("{PASSWORD}{bad}"),
                name: "X".into(),
            })
            .await,
            "password",
        );
        refused(
            w.hd.login(&format!("{bad}@example.com"), PASSWORD).await,
            "email",
        );
        refused(
            w.hd.login(carol.email(), &format!("{PASSWORD}{bad}")).await,
            "password",
        );
        for (title, body, field) in [(bad, "b", "title"), ("t", bad, "body")] {
            refused(
                w.hd.create_article(
                    &agent.p,
                    NewArticle {
                        title: title.into(),
                        body: body.into(),
                        slug: None,
                        tags: vec![],
                        status: None,
                    },
                )
                .await,
                field,
            );
            let patch = ArticlePatch {
                title: Some(title.into()),
                body: Some(body.into()),
                ..Default::default()
            };
            refused(
                w.hd.update_article(&agent.p, article.id, patch).await,
                field,
            );
        }
        for (url, description, field) in [
            (format!("https://example.com/{bad}"), None, "url"),
            (
                "https://example.com/".to_string(),
                Some(bad.to_string()),
                "description",
            ),
        ] {
            let hook = crate::webhook::NewWebhook {
                url,
                events: vec!["*".into()],
                description,
                active: None,
            };
            refused(w.hd.create_webhook(&admin.p, hook).await, field);
        }
        refused(
            w.hd.search_articles(None, ArticleSearch::new(bad)).await,
            "q",
        );
        refused(
            w.hd.list_tickets(
                &agent.p,
                TicketFilter {
                    q: Some(bad.into()),
                    ..Default::default()
                },
            )
            .await,
            "q",
        );
        refused(
            w.hd.list_users(
                &agent.p,
                UserFilter {
                    q: Some(bad.into()),
                    ..Default::default()
                },
            )
            .await,
            "q",
        );
    }
    // Nothing of the refused changes was stored.
    assert_eq!(w.events().await.len(), events_before);
    let t = w.hd.get_ticket(&carol.p, ticket.id).await.unwrap();
    assert_eq!(t.subject, "Printer");
    assert!(
        w.store
            .get_user_by_email("x@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

/// Tab, newline and carriage return are text like any other: stored and returned as
/// given, byte for byte, as are characters beyond the C0 range (DEL, C1 controls, line
/// separators, emoji).
pub async fn tab_newline_return_and_other_characters_round_trip(store: Arc<dyn Store>) {
    let w = World::new(store);
    let carol = w.customer().await;
    let text = "line one\r\n\tline two\u{7f}\u{85}\u{2028}😀 \u{fffd}";
    let ticket =
        w.hd.create_ticket(&carol.p, NewTicket::new("Subject\there", text))
            .await
            .unwrap();
    let got = w.hd.get_ticket(&carol.p, ticket.id).await.unwrap();
    assert_eq!(got.subject, "Subject\there");
    assert_eq!(got.description, text);
    let sent = w.send(&carol, ticket.conversation_id, text).await;
    let read =
        w.hd.get_message(&carol.p, ticket.conversation_id, sent.message.id)
            .await
            .unwrap();
    assert_eq!(read.message.content, text);
}
