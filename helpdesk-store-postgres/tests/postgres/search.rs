//! KB search on PostgreSQL full-text search: stemming, title above body, escaped
//! snippets with only the hits marked, drafts and tags.

use chrono::Duration;
use helpdesk_core::event::Effects;
use helpdesk_core::kb::{Article, ArticleStatus, SearchQuery};
use helpdesk_core::store::KbStore;
use uuid::Uuid;

use crate::common::{TestDb, t0};

fn article(
    slug: &str,
    title: &str,
    body: &str,
    tags: &[&str],
    status: ArticleStatus,
    age: i64,
) -> Article {
    let at = t0() + Duration::seconds(age);
    Article {
        id: Uuid::now_v7(),
        slug: slug.into(),
        title: title.into(),
        body: body.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        status,
        author_id: Uuid::nil(),
        created_at: at,
        updated_at: at,
        published_at: (status == ArticleStatus::Published).then_some(at),
    }
}

fn query(q: &str) -> SearchQuery {
    SearchQuery {
        q: q.into(),
        tag: None,
        include_drafts: false,
        limit: 10,
    }
}

#[tokio::test]
async fn full_text_search_ranks_stems_escapes_and_filters() {
    let Some(db) = TestDb::create("full_text_search_ranks_stems_escapes_and_filters").await else {
        return;
    };
    let s = &db.store;
    // The body match is newer, so only the rank can put the title match first.
    let in_title = article(
        "reset-password",
        "Reset your password",
        "Open the settings page and follow the steps.",
        &["account"],
        ArticleStatus::Published,
        0,
    );
    let in_body = article(
        "account-settings",
        "Account settings",
        "Use <b>Change</b> & \"save\" to set a new password; it's quick.",
        &["account", "settings"],
        ArticleStatus::Published,
        10,
    );
    let draft = article(
        "password-policy",
        "Password policy",
        "Passwords expire yearly.",
        &["policy"],
        ArticleStatus::Draft,
        20,
    );
    let other = article(
        "printers",
        "Printers",
        "Paper jams.",
        &[],
        ArticleStatus::Published,
        30,
    );
    for a in [&in_title, &in_body, &draft, &other] {
        s.insert_article(a, &Effects::none()).await.unwrap();
    }

    let hits = s.search_articles(&query("passwords")).await.unwrap();
    let slugs: Vec<&str> = hits.iter().map(|h| h.article.slug.as_str()).collect();
    assert_eq!(
        slugs,
        ["reset-password", "account-settings"],
        "stemmed, title first, no drafts"
    );
    assert!(hits[0].score > hits[1].score);

    let body_hit = &hits[1].snippet;
    assert!(body_hit.contains("<mark>password</mark>"), "{body_hit}");
    assert!(
        body_hit.contains("&lt;b&gt;Change&lt;/b&gt; &amp; &quot;save&quot;"),
        "{body_hit}"
    );
    assert!(body_hit.contains("it&#39;s"), "{body_hit}");
    let stripped = body_hit.replace("<mark>", "").replace("</mark>", "");
    assert!(
        !stripped.contains('<') && !stripped.contains('>'),
        "only <mark> is markup: {body_hit}"
    );
    // No hit in the body: the snippet comes from the title.
    assert_eq!(hits[0].snippet, "Reset your <mark>password</mark>");

    let with_drafts = s
        .search_articles(&SearchQuery {
            include_drafts: true,
            ..query("password")
        })
        .await
        .unwrap();
    assert_eq!(with_drafts.len(), 3);
    assert!(
        with_drafts
            .iter()
            .any(|h| h.article.slug == "password-policy")
    );

    let tagged = s
        .search_articles(&SearchQuery {
            tag: Some("settings".into()),
            ..query("password")
        })
        .await
        .unwrap();
    let slugs: Vec<&str> = tagged.iter().map(|h| h.article.slug.as_str()).collect();
    assert_eq!(slugs, ["account-settings"]);

    // Every word must match; tags are searchable; limits apply; noise finds nothing.
    assert!(
        s.search_articles(&query("password printers"))
            .await
            .unwrap()
            .is_empty()
    );
    let by_tag = s.search_articles(&query("account")).await.unwrap();
    assert_eq!(by_tag.len(), 2);
    assert_eq!(
        by_tag[0].article.slug, "account-settings",
        "title beats tag"
    );
    assert_eq!(
        s.search_articles(&SearchQuery {
            limit: 1,
            ..query("password")
        })
        .await
        .unwrap()
        .len(),
        1
    );
    assert!(s.search_articles(&query("")).await.unwrap().is_empty());
    assert!(s.search_articles(&query("&<>!")).await.unwrap().is_empty());

    // Updates re-index.
    let mut moved = other.clone();
    moved.body = "Reset the printer password.".into();
    s.update_article(&moved, &Effects::none()).await.unwrap();
    assert_eq!(
        s.search_articles(&query("password")).await.unwrap().len(),
        3
    );
}
