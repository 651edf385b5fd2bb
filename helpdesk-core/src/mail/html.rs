//! HTML bodies → text: sanitised with ammonia, parsed into a DOM, quoted replies removed
//! (for follow-ups), `cid:` images named, rendered by html2text without wrapping.

use std::collections::HashMap;

use html2text::{Handle, RcDom};

/// Wide enough that html2text never wraps a line of mail text.
const NO_WRAP_WIDTH: usize = 100_000;
/// DOM depth past which quote removal and image naming stop looking (deeply nested HTML
/// is rendered as it is, without risking the stack).
const MAX_WALK_DEPTH: usize = 200;
/// HTML past this many bytes is not turned into text.
const MAX_HTML_BYTES: usize = 2 * 1024 * 1024;
/// Tag nesting past which HTML is not parsed (see [`html_to_text`]).
const MAX_PARSE_DEPTH: usize = 400;

const VOID_ELEMENTS: [&str; 14] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// How deep the tags of `html` nest, counted roughly (void and self-closed elements do not
/// nest; end tags close one level).
fn nesting_depth(html: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        rest = &rest[end..];
        if let Some(closing) = tag.strip_prefix('/') {
            if !closing.is_empty() {
                depth = depth.saturating_sub(1);
            }
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() || tag.ends_with('/') || VOID_ELEMENTS.contains(&name.as_str()) {
            continue;
        }
        depth += 1;
        max = max.max(depth);
    }
    max
}

/// The text outside tags (and outside `<script>`/`<style>`), a few entities decoded,
/// whitespace collapsed: the reading of HTML too deep to parse.
fn tag_free_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    let mut skip_until: Option<&str> = None;
    while !rest.is_empty() {
        let Some(start) = rest.find('<') else {
            if skip_until.is_none() {
                out.push_str(rest);
            }
            break;
        };
        if skip_until.is_none() {
            out.push_str(&rest[..start]);
        }
        rest = &rest[start + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = rest[..end].to_ascii_lowercase();
        rest = rest.get(end + 1..).unwrap_or("");
        match skip_until {
            Some(close) if tag.starts_with(close) => skip_until = None,
            Some(_) => {}
            None if tag.starts_with("script") => skip_until = Some("/script"),
            None if tag.starts_with("style") => skip_until = Some("/style"),
            None => out.push(' '),
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of an HTML body. `cids` names the files behind `cid:` image sources (shown
/// as `[image: <name>]`); `strip_quotes` removes the quoted conversation of common mail
/// clients first.
pub(super) fn html_to_text(
    html: &str,
    cids: &HashMap<String, String>,
    strip_quotes: bool,
) -> String {
    // A ticket keeps at most 32,000 characters of a mail's text; even markup-heavy HTML
    // holds that within the first megabytes, and converting more only costs time.
    let html = match html.len() > MAX_HTML_BYTES {
        true => &html[..html.floor_char_boundary(MAX_HTML_BYTES)],
        false => html,
    };
    if nesting_depth(html) > MAX_PARSE_DEPTH {
        // html5ever's tree building grows with the square of the nesting depth: a few
        // kilobytes of nested tags would hold a worker for minutes. No mail client nests
        // that deep, so such HTML only has its text read.
        return tag_free_text(html);
    }
    let clean = sanitize(html);
    let config = html2text::config::plain_no_decorate()
        .link_footnotes(true)
        .allow_width_overflow();
    let Ok(dom) = config.parse_html(clean.as_bytes()) else {
        return String::new();
    };
    walk(&dom.document, cids, strip_quotes, 0);
    render(&config, &dom)
}

fn render(
    config: &html2text::config::Config<html2text::render::PlainDecorator>,
    dom: &RcDom,
) -> String {
    let text = config
        .dom_to_render_tree(dom)
        .and_then(|tree| config.render_to_string(tree, NO_WRAP_WIDTH))
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    // Collapse runs of blank lines that removed blocks leave behind.
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    for line in lines {
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    out.join("\n").trim().to_string()
}

/// ammonia's defaults plus what quote removal and image naming read: `class` and `id`,
/// `blockquote[type]`, and `cid:` image sources.
fn sanitize(html: &str) -> String {
    ammonia::Builder::default()
        .add_generic_attributes(["class", "id"])
        .add_tag_attributes("blockquote", ["type"])
        .add_url_schemes(["cid"])
        .clean(html)
        .to_string()
}

/// What to do with an element.
enum Verdict {
    Keep,
    /// Remove it.
    Remove,
    /// Remove it and everything after it in the document.
    Cut,
}

fn verdict(handle: &Handle) -> Verdict {
    let html2text::Element { name, attrs, .. } = &handle.data else {
        return Verdict::Keep;
    };
    let attrs = attrs.borrow();
    let attr = |n: &str| {
        attrs
            .iter()
            .find(|a| a.name.local.as_ref() as &str == n)
            .map(|a| a.value.to_string())
    };
    let id = attr("id").unwrap_or_default();
    if id == "divRplyFwdMsg" || id == "appendonsend" {
        return Verdict::Cut;
    }
    let class = attr("class").unwrap_or_default();
    let classes: Vec<&str> = class.split_whitespace().collect();
    if classes
        .iter()
        .any(|c| matches!(*c, "gmail_quote" | "yahoo_quoted" | "protonmail_quote"))
    {
        return Verdict::Remove;
    }
    if name.local.as_ref() as &str == "blockquote"
        && attr("type").is_some_and(|t| t.eq_ignore_ascii_case("cite"))
    {
        return Verdict::Remove;
    }
    Verdict::Keep
}

/// Removes quotes (when asked) and names `cid:` images below `node`; true when a cut
/// happened, so that the callers drop everything after this node too.
fn walk(node: &Handle, cids: &HashMap<String, String>, strip: bool, depth: usize) -> bool {
    if depth > MAX_WALK_DEPTH {
        return false;
    }
    let children: Vec<Handle> = node.children.borrow().clone();
    let mut keep: Vec<Handle> = Vec::with_capacity(children.len());
    let mut cut = false;
    for child in children {
        if strip {
            match verdict(&child) {
                Verdict::Keep => {}
                Verdict::Remove => continue,
                Verdict::Cut => {
                    cut = true;
                    break;
                }
            }
        }
        name_cid_image(&child, cids);
        let child_cut = walk(&child, cids, strip, depth + 1);
        keep.push(child);
        if child_cut {
            cut = true;
            break;
        }
    }
    *node.children.borrow_mut() = keep;
    cut
}

/// An `<img src="cid:…">` gets the alt text `image: <name>`, which html2text renders as
/// `[image: <name>]`.
fn name_cid_image(handle: &Handle, cids: &HashMap<String, String>) {
    let html2text::Element { name, attrs, .. } = &handle.data else {
        return;
    };
    if name.local.as_ref() as &str != "img" {
        return;
    }
    let mut attrs = attrs.borrow_mut();
    let Some(cid) = attrs
        .iter()
        .find(|a| a.name.local.as_ref() as &str == "src")
        .and_then(|a| {
            a.value
                .get(..4)
                .filter(|s| s.eq_ignore_ascii_case("cid:"))
                .map(|_| a.value[4..].to_string())
        })
    else {
        return;
    };
    let cid = super::thread::normalize_message_id(&cid);
    let file = cids
        .get(&cid)
        .cloned()
        .unwrap_or_else(|| "image".to_string());
    let alt = format!("image: {file}");
    match attrs
        .iter_mut()
        .find(|a| a.name.local.as_ref() as &str == "alt")
    {
        Some(a) => a.value = alt.into(),
        None => attrs.push(html5ever::Attribute {
            name: html5ever::QualName::new(None, html5ever::ns!(), html5ever::local_name!("alt")),
            value: alt.into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_without_wrapping_and_without_scripts() {
        let long = "word ".repeat(100);
        let html = format!("<p>{long}</p><script>alert(1)</script><p>Second</p>");
        let text = html_to_text(&html, &HashMap::new(), false);
        assert_eq!(text.lines().next().unwrap().trim_end(), long.trim_end());
        assert!(!text.contains("alert"));
        assert!(text.ends_with("Second"));
    }

    #[test]
    fn cid_images_are_named_and_links_kept() {
        let cids = HashMap::from([("logo@x".to_string(), "logo.png".to_string())]);
        let html =
            r#"<p>See <img src="cid:LOGO@x" alt="x"> and <a href="https://e.org/a">this</a></p>"#;
        let text = html_to_text(html, &cids, false);
        assert!(text.contains("[image: logo.png]"), "{text}");
        assert!(text.contains("https://e.org/a"), "{text}");
    }

    #[test]
    fn quotes_are_removed_only_when_asked() {
        let html = r#"<div>New text</div><div class="gmail_quote">On x wrote:<blockquote>old</blockquote></div>"#;
        assert!(html_to_text(html, &HashMap::new(), false).contains("old"));
        assert_eq!(html_to_text(html, &HashMap::new(), true), "New text");
        let outlook = r#"<div><p>Answer</p><div id="appendonsend"></div><hr><div id="divRplyFwdMsg">From: a</div><div>old body</div></div><p>after</p>"#;
        assert_eq!(html_to_text(outlook, &HashMap::new(), true), "Answer");
    }

    #[test]
    fn deep_nesting_is_read_without_parsing() {
        let html = "<div>".repeat(50_000)
            + "deep <b>text</b> &amp; more<script>x()</script>"
            + &"</div>".repeat(50_000);
        let started = std::time::Instant::now();
        assert_eq!(
            html_to_text(&html, &HashMap::new(), true),
            "deep text & more"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Moderately deep HTML is still parsed (and walked only to a bounded depth).
        let html = "<div>".repeat(350) + "<p>inner</p>" + &"</div>".repeat(350);
        assert_eq!(html_to_text(&html, &HashMap::new(), true), "inner");
    }

    #[test]
    fn html_past_the_cap_is_not_converted() {
        let html = "<p>line</p>".repeat(MAX_HTML_BYTES / 11 + 1000) + "<p>THE END</p>";
        let text = html_to_text(&html, &HashMap::new(), false);
        assert!(text.starts_with("line\n\nline"));
        assert!(!text.contains("THE END"));
    }

    #[test]
    fn nesting_depth_counts_open_elements() {
        assert_eq!(nesting_depth("<p>a<br>b<img src=x><b>c</b></p><p/>"), 2);
        assert_eq!(nesting_depth("<div><div></div></div><div></div>"), 2);
        assert_eq!(nesting_depth("no tags < here"), 0);
    }
}
