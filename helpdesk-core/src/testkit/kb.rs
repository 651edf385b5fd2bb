//! The knowledge base: slugs, drafts, tags, listing and ranked search.

use std::sync::Arc;

use uuid::Uuid;

use super::{World, expect_err};
use crate::Error;
use crate::kb::ArticleFilter;
use crate::kb::ArticleSearch;
use crate::kb::{Article, ArticlePatch, ArticleStatus, NewArticle};
use crate::store::Store;

fn article(title: &str, body: &str, tags: &[&str], published: bool) -> NewArticle {
    NewArticle {
        title: title.to_string(),
        body: body.to_string(),
        slug: None,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        status: Some(if published {
            ArticleStatus::Published
        } else {
            ArticleStatus::Draft
        }),
    }
}

async fn write(w: &World, staff: &crate::Principal, input: NewArticle) -> Article {
    w.hd.create_article(staff, input).await.unwrap()
}

/// The slug is derived from the title.
pub async fn slug_from_title(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let art = write(
        &w,
        &a.p,
        article("  How to Reset Your Password?! ", "b", &[], true),
    )
    .await;
    assert_eq!(art.slug, "how-to-reset-your-password");
    assert_eq!(art.title, "How to Reset Your Password?!");
    assert_eq!(art.author_id, a.id());
    let art = write(
        &w,
        &a.p,
        article("Ünïcode & émojis 🎉 2024", "b", &[], true),
    )
    .await;
    assert!(
        art.slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        "{}",
        art.slug
    );
    assert!(!art.slug.starts_with('-') && !art.slug.ends_with('-'));
    assert!(Uuid::try_parse(&art.slug).is_err());
}

/// Taken derived slugs get `-2`, `-3`, ...
pub async fn slug_suffixes(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let mut slugs = Vec::new();
    for _ in 0..4 {
        slugs.push(
            write(&w, &a.p, article("Billing FAQ", "b", &[], false))
                .await
                .slug,
        );
    }
    assert_eq!(
        slugs,
        [
            "billing-faq",
            "billing-faq-2",
            "billing-faq-3",
            "billing-faq-4"
        ]
    );
    for s in &slugs {
        assert_eq!(&w.hd.get_article(Some(&a.p), s).await.unwrap().slug, s);
    }
}

/// A taken slug given explicitly is refused, on create and on update.
pub async fn explicit_taken_slug_is_refused(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    write(&w, &a.p, article("First", "b", &[], true)).await;
    let mut input = article("Second", "b", &[], true);
    input.slug = Some("first".into());
    expect_err!(w.hd.create_article(&a.p, input).await, Error::SlugTaken);
    let second = write(&w, &a.p, article("Second", "b", &[], true)).await;
    expect_err!(
        w.hd.update_article(
            &a.p,
            second.id,
            ArticlePatch {
                slug: Some("first".into()),
                ..Default::default()
            }
        )
        .await,
        Error::SlugTaken
    );
    assert_eq!(
        w.hd.get_article(None, "second").await.unwrap().id,
        second.id
    );
    let list =
        w.hd.list_articles(Some(&a.p), ArticleFilter::default())
            .await
            .unwrap();
    assert_eq!(list.items.len(), 2);
    // Renaming to a free slug works and frees the old one.
    let moved =
        w.hd.update_article(
            &a.p,
            second.id,
            ArticlePatch {
                slug: Some("second-moved".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.slug, "second-moved");
    expect_err!(w.hd.get_article(None, "second").await, Error::NotFound);
    write(&w, &a.p, article("Second", "b", &[], true)).await;
    assert_eq!(
        w.hd.get_article(None, "second").await.unwrap().title,
        "Second"
    );
}

/// Articles are found by id or by slug.
pub async fn get_by_id_or_slug(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let art = write(&w, &a.p, article("Lookup", "body", &["x"], true)).await;
    assert_eq!(
        w.hd.get_article(None, &art.id.to_string()).await.unwrap(),
        art
    );
    assert_eq!(w.hd.get_article(None, "lookup").await.unwrap(), art);
    expect_err!(w.hd.get_article(None, "nope").await, Error::NotFound);
    expect_err!(
        w.hd.get_article(None, &Uuid::now_v7().to_string()).await,
        Error::NotFound
    );
}

/// Drafts are invisible to customers and anonymous readers everywhere.
pub async fn drafts_hidden_from_customers_and_anonymous(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let c = w.customer().await;
    let draft = write(
        &w,
        &a.p,
        article("Secret plans", "password policy", &["internal"], false),
    )
    .await;
    let public = write(
        &w,
        &a.p,
        article("Public", "password help", &["help"], true),
    )
    .await;
    for viewer in [None, Some(&c.p)] {
        expect_err!(w.hd.get_article(viewer, &draft.slug).await, Error::NotFound);
        expect_err!(
            w.hd.get_article(viewer, &draft.id.to_string()).await,
            Error::NotFound
        );
        let list =
            w.hd.list_articles(viewer, ArticleFilter::default())
                .await
                .unwrap();
        assert_eq!(
            list.items.iter().map(|x| x.id).collect::<Vec<_>>(),
            vec![public.id]
        );
        let drafts =
            w.hd.list_articles(
                viewer,
                ArticleFilter {
                    status: Some(ArticleStatus::Draft),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(drafts.items.is_empty());
        let hits =
            w.hd.search_articles(viewer, ArticleSearch::new("password"))
                .await
                .unwrap();
        assert_eq!(
            hits.iter().map(|h| h.article.id).collect::<Vec<_>>(),
            vec![public.id]
        );
        let tags = w.hd.kb_tags(viewer).await.unwrap();
        assert_eq!(
            tags.iter().map(|t| t.tag.as_str()).collect::<Vec<_>>(),
            vec!["help"]
        );
    }
    assert_eq!(
        w.hd.get_article(Some(&a.p), &draft.slug).await.unwrap().id,
        draft.id
    );
    assert_eq!(
        w.hd.search_articles(Some(&a.p), ArticleSearch::new("password"))
            .await
            .unwrap()
            .len(),
        2
    );
}

/// Lists are newest first, filter by tag and status (staff), and page without repeats.
pub async fn list_filters_and_pages(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        if i % 2 == 0 {
            w.tick();
        }
        let tags: &[&str] = if i % 3 == 0 { &["Billing"] } else { &[] };
        ids.push(
            write(&w, &a.p, article(&format!("A{i}"), "b", tags, i != 6))
                .await
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            w.hd.list_articles(
                Some(&a.p),
                ArticleFilter {
                    cursor,
                    limit: Some(3),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|x| x.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);
    let billing =
        w.hd.list_articles(
            None,
            ArticleFilter {
                tag: Some("BILLING".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        billing.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![ids[3], ids[0]]
    );
    let drafts =
        w.hd.list_articles(
            Some(&a.p),
            ArticleFilter {
                status: Some(ArticleStatus::Draft),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        drafts.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![ids[6]]
    );
}

/// Tag counts: published only for the public, everything for staff; sorted by tag.
pub async fn tag_counts(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    write(&w, &a.p, article("One", "b", &["billing", "faq"], true)).await;
    write(&w, &a.p, article("Two", "b", &["Billing"], true)).await;
    write(
        &w,
        &a.p,
        article("Three", "b", &["billing", "draft-only"], false),
    )
    .await;
    let public: Vec<(String, u64)> =
        w.hd.kb_tags(None)
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.tag, t.count))
            .collect();
    assert_eq!(
        public,
        vec![("billing".to_string(), 2), ("faq".to_string(), 1)]
    );
    let staff: Vec<(String, u64)> =
        w.hd.kb_tags(Some(&a.p))
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.tag, t.count))
            .collect();
    assert_eq!(
        staff,
        vec![
            ("billing".to_string(), 3),
            ("draft-only".to_string(), 1),
            ("faq".to_string(), 1)
        ]
    );
}

/// Word forms match: "passwords" finds "password", "resetting" finds "reset".
pub async fn search_matches_word_forms(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let pw = write(
        &w,
        &a.p,
        article("Account help", "Change your password here.", &[], true),
    )
    .await;
    let reset = write(
        &w,
        &a.p,
        article("Reset guide", "How to reset things.", &[], true),
    )
    .await;
    write(
        &w,
        &a.p,
        article("Unrelated", "Printers and paper.", &[], true),
    )
    .await;
    let hits =
        w.hd.search_articles(None, ArticleSearch::new("passwords"))
            .await
            .unwrap();
    assert_eq!(
        hits.iter().map(|h| h.article.id).collect::<Vec<_>>(),
        vec![pw.id]
    );
    let hits =
        w.hd.search_articles(None, ArticleSearch::new("Resetting"))
            .await
            .unwrap();
    assert_eq!(
        hits.iter().map(|h| h.article.id).collect::<Vec<_>>(),
        vec![reset.id]
    );
    // Every word must match.
    let hits =
        w.hd.search_articles(None, ArticleSearch::new("password printers"))
            .await
            .unwrap();
    assert!(hits.is_empty());
    assert!(
        w.hd.search_articles(None, ArticleSearch::new("zebra"))
            .await
            .unwrap()
            .is_empty()
    );
    expect_err!(
        w.hd.search_articles(None, ArticleSearch::new("  ?! "))
            .await,
        Error::Validation(_)
    );
}

/// Title hits rank above body hits; scores are in descending order.
pub async fn search_ranks_title_above_body(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let body = write(
        &w,
        &a.p,
        article(
            "General account help",
            "The invoice is sent monthly.",
            &[],
            true,
        ),
    )
    .await;
    w.tick();
    let title = write(
        &w,
        &a.p,
        article("Invoices", "Everything about billing.", &[], true),
    )
    .await;
    w.tick();
    let body2 = write(
        &w,
        &a.p,
        article("Misc", "Invoice questions go to billing.", &[], true),
    )
    .await;
    let hits =
        w.hd.search_articles(None, ArticleSearch::new("invoice"))
            .await
            .unwrap();
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0].article.id, title.id);
    assert!(hits.windows(2).all(|p| p[0].score >= p[1].score));
    assert!(hits[0].score > hits[1].score);
    let rest: std::collections::HashSet<Uuid> = hits[1..].iter().map(|h| h.article.id).collect();
    assert_eq!(rest, [body.id, body2.id].into_iter().collect());
    let limited =
        w.hd.search_articles(
            None,
            ArticleSearch {
                limit: Some(1),
                ..ArticleSearch::new("invoice")
            },
        )
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].article.id, title.id);
}

/// Snippets are HTML-escaped and only the hits are wrapped in `<mark>`.
pub async fn search_snippet_is_escaped_and_marked(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    write(
        &w,
        &a.p,
        article(
            "Scripts",
            "Never paste <script>alert('x')</script> & never share passwords with \"support\".",
            &[],
            true,
        ),
    )
    .await;
    let hits =
        w.hd.search_articles(None, ArticleSearch::new("password"))
            .await
            .unwrap();
    assert_eq!(hits.len(), 1);
    let s = &hits[0].snippet;
    assert!(s.contains("<mark>passwords</mark>"), "{s}");
    assert!(s.contains("&lt;script&gt;"), "{s}");
    assert!(s.contains("&amp;"), "{s}");
    let without_marks = s.replace("<mark>", "").replace("</mark>", "");
    assert!(
        !without_marks.contains('<') && !without_marks.contains('>'),
        "{s}"
    );
    assert_eq!(s.matches("<mark>").count(), 1, "{s}");
    assert!(!without_marks.contains('"'), "{s}");
}

/// The tag filter narrows search; drafts only for staff.
pub async fn search_tag_filter_and_drafts(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let c = w.customer().await;
    let tagged = write(
        &w,
        &a.p,
        article("Billing login", "login help", &["billing"], true),
    )
    .await;
    let other = write(&w, &a.p, article("Login", "login help", &["account"], true)).await;
    let draft = write(
        &w,
        &a.p,
        article("Login draft", "login", &["billing"], false),
    )
    .await;
    let hits =
        w.hd.search_articles(
            Some(&c.p),
            ArticleSearch {
                tag: Some("Billing".into()),
                ..ArticleSearch::new("login")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        hits.iter().map(|h| h.article.id).collect::<Vec<_>>(),
        vec![tagged.id]
    );
    let staff: std::collections::HashSet<Uuid> =
        w.hd.search_articles(
            Some(&a.p),
            ArticleSearch {
                tag: Some("billing".into()),
                ..ArticleSearch::new("login")
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.article.id)
        .collect();
    assert_eq!(staff, [tagged.id, draft.id].into_iter().collect());
    assert_eq!(
        w.hd.search_articles(None, ArticleSearch::new("login"))
            .await
            .unwrap()
            .len(),
        2
    );
    let _ = other;
}

/// Only staff write, change and delete articles.
pub async fn editing_is_staff_only(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let admin = w.admin().await;
    let c = w.customer().await;
    expect_err!(
        w.hd.create_article(&c.p, article("Mine", "b", &[], true))
            .await,
        Error::Forbidden(_)
    );
    let art = write(&w, &a.p, article("Staff", "b", &[], true)).await;
    expect_err!(
        w.hd.update_article(
            &c.p,
            art.id,
            ArticlePatch {
                title: Some("Hacked".into()),
                ..Default::default()
            }
        )
        .await,
        Error::Forbidden(_)
    );
    expect_err!(w.hd.delete_article(&c.p, art.id).await, Error::Forbidden(_));
    let updated =
        w.hd.update_article(
            &admin.p,
            art.id,
            ArticlePatch {
                title: Some("Edited".into()),
                body: Some("New body".into()),
                tags: Some(vec!["New".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            updated.title.as_str(),
            updated.body.as_str(),
            updated.tags.clone()
        ),
        ("Edited", "New body", vec!["new".to_string()])
    );
    assert_eq!(updated.slug, art.slug);
    assert_eq!(w.hd.get_article(None, &art.slug).await.unwrap(), updated);
    w.hd.delete_article(&a.p, art.id).await.unwrap();
    expect_err!(
        w.hd.get_article(Some(&a.p), &art.slug).await,
        Error::NotFound
    );
    expect_err!(w.hd.delete_article(&a.p, art.id).await, Error::NotFound);
    expect_err!(
        w.hd.update_article(&a.p, art.id, ArticlePatch::default())
            .await,
        Error::NotFound
    );
}

/// Publishing sets `published_at` once; drafts have none.
pub async fn publishing_sets_published_at(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let draft = write(&w, &a.p, article("Later", "b", &[], false)).await;
    assert_eq!(draft.published_at, None);
    let default_status =
        w.hd.create_article(
            &a.p,
            NewArticle {
                title: "Default".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(default_status.status, ArticleStatus::Draft);
    w.tick();
    let published_at = w.hd.now();
    let publish = ArticlePatch {
        status: Some(ArticleStatus::Published),
        ..Default::default()
    };
    let p =
        w.hd.update_article(&a.p, draft.id, publish.clone())
            .await
            .unwrap();
    assert_eq!(p.published_at, Some(published_at));
    assert_eq!(p.updated_at, published_at);
    w.hd.get_article(None, "later").await.unwrap();
    w.tick();
    let unpublish = ArticlePatch {
        status: Some(ArticleStatus::Draft),
        ..Default::default()
    };
    w.hd.update_article(&a.p, draft.id, unpublish)
        .await
        .unwrap();
    expect_err!(w.hd.get_article(None, "later").await, Error::NotFound);
    w.tick();
    let again = w.hd.update_article(&a.p, draft.id, publish).await.unwrap();
    assert_eq!(again.published_at, Some(published_at));
}

/// Explicit slugs must be lowercase words with inner dashes and never look like ids.
pub async fn slug_validation(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    for bad in [
        "Upper",
        "-lead",
        "trail-",
        "sp ace",
        "",
        &Uuid::now_v7().to_string(),
        &Uuid::now_v7().simple().to_string(),
    ] {
        let mut input = article("T", "b", &[], true);
        input.slug = Some(bad.to_string());
        expect_err!(w.hd.create_article(&a.p, input).await, Error::Validation(_));
    }
    assert!(
        w.hd.list_articles(Some(&a.p), ArticleFilter::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let mut input = article("T", "b", &[], true);
    input.slug = Some("custom-slug-2".into());
    assert_eq!(
        w.hd.create_article(&a.p, input).await.unwrap().slug,
        "custom-slug-2"
    );
}

/// Two instances over one store: every article write moves the KB stamp; search answers
/// follow it at once on the instance that wrote and, though it answered the same search
/// before, within [`crate::kb::KB_STAMP_TRUSTED`] on the other.
pub async fn searches_follow_article_writes_on_every_instance(store: Arc<dyn Store>) {
    let w = World::new(store);
    let other =
        crate::Helpdesk::with_clock(w.store.clone(), crate::Config::for_tests(), w.clock.clone());
    let a = w.agent().await;
    let titles = |hd: &crate::Helpdesk, words: &'static str| {
        let hd = hd.clone();
        async move {
            hd.search_articles(None, ArticleSearch::new(words))
                .await
                .unwrap()
                .into_iter()
                .map(|h| h.article.title)
                .collect::<Vec<String>>()
        }
    };
    // What the writing instance finds at once, and the other within the window (a
    // test that waits up to ten of them).
    let found = async |words: &'static str, want: &[&str]| {
        assert_eq!(titles(&w.hd, words).await, want, "{words}, where written");
        let patience = tokio::time::Instant::now() + crate::kb::KB_STAMP_TRUSTED * 10;
        loop {
            let there = titles(&other, words).await;
            if there == want {
                break;
            }
            assert!(
                tokio::time::Instant::now() < patience,
                "{words}: still {there:?} on the other instance"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let mut stamp = w.store.kb_stamp().await.unwrap();
    let mut moved = async || {
        let now = w.store.kb_stamp().await.unwrap();
        assert!(now > stamp, "an article write did not move the KB stamp");
        stamp = now;
    };

    found("printer", &[]).await;
    let art = write(
        &w,
        &a.p,
        article("Printer jams", "Open the tray.", &[], true),
    )
    .await;
    moved().await;
    found("printer", &["Printer jams"]).await;
    let retitle = ArticlePatch {
        title: Some("Scanner jams".into()),
        ..Default::default()
    };
    w.hd.update_article(&a.p, art.id, retitle).await.unwrap();
    moved().await;
    found("printer", &[]).await;
    found("scanner", &["Scanner jams"]).await;
    let draft = ArticlePatch {
        status: Some(ArticleStatus::Draft),
        ..Default::default()
    };
    w.hd.update_article(&a.p, art.id, draft).await.unwrap();
    moved().await;
    found("scanner", &[]).await;
    w.hd.delete_article(&a.p, art.id).await.unwrap();
    moved().await;
    w.hd.search_articles(None, ArticleSearch::new("scanner"))
        .await
        .unwrap();
    assert_eq!(
        w.store.kb_stamp().await.unwrap(),
        stamp,
        "a search moved it"
    );
}
