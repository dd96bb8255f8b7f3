//! Parsing untrusted XML with limits, and small helpers over roxmltree nodes.

use roxmltree::{Document, Node, NodeId, ParsingOptions};

use crate::error::{Result, malformed};

/// Bounds applied before and while parsing untrusted XML.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_nodes: u32,
    pub max_depth: usize,
    /// Attributes (namespace declarations included) on one start tag.
    pub max_attributes_per_element: usize,
    /// `xmlns` declarations in the whole document. roxmltree copies the in-scope namespaces
    /// for every element that declares one, so this bounds its quadratic worst case.
    pub max_namespace_declarations: usize,
}

impl Limits {
    /// For SAML protocol messages: AWS caps a base64 response at 100,000 characters; we allow
    /// ten times that in bytes so that other SPs' larger messages still parse.
    pub const MESSAGE: Limits = Limits {
        max_bytes: 1 << 20,
        max_nodes: 50_000,
        max_depth: 64,
        max_attributes_per_element: 256,
        max_namespace_declarations: 256,
    };
    /// For metadata, where federation aggregates are large.
    pub const METADATA: Limits = Limits {
        max_bytes: 32 << 20,
        max_nodes: 2_000_000,
        max_depth: 64,
        max_attributes_per_element: 256,
        max_namespace_declarations: 4096,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::MESSAGE
    }
}

/// Parses `text` as an XML document, refusing DTDs (and so every entity declaration), documents
/// over the size, node, attribute or depth limits, and anything not well-formed or not
/// namespace-correct.
pub fn parse(text: &str, limits: Limits) -> Result<Document<'_>> {
    if text.len() > limits.max_bytes {
        return Err(malformed(format!("document is {} bytes, over the limit of {}", text.len(), limits.max_bytes)));
    }
    // roxmltree checks each attribute against the others on its element and copies in-scope
    // namespaces, both quadratic, so those counts are bounded before it runs. Every attribute and
    // declaration has an `=`; with few in the whole document (the usual case, counted at vector
    // speed) no element can exceed a limit and the exact count is skipped.
    let equals = memchr::memchr_iter(b'=', text.as_bytes()).count();
    if equals > limits.max_attributes_per_element.min(limits.max_namespace_declarations) {
        count_attributes(text, limits)?;
    }
    let options = ParsingOptions { allow_dtd: false, nodes_limit: limits.max_nodes, ..ParsingOptions::default() };
    let doc = Document::parse_with_options(text, options).map_err(|e| not_well_formed(text, e))?;
    check_depth(&doc, limits.max_depth)?;
    Ok(doc)
}

fn not_well_formed(text: &str, error: roxmltree::Error) -> crate::error::Error {
    // roxmltree stops at a DOCTYPE before reading it; one written elsewhere or in lower case
    // is a syntax error to it, and gets the same explanation here.
    let doctype = memchr::memmem::find_iter(text.as_bytes(), b"<!")
        .any(|at| text.as_bytes().get(at..at + 9).is_some_and(|w| w.eq_ignore_ascii_case(b"<!DOCTYPE")));
    if matches!(error, roxmltree::Error::DtdDetected) || doctype {
        malformed("DTDs and entity declarations are not allowed")
    } else {
        malformed(format!("not well-formed XML: {error}"))
    }
}

/// Element nesting, counted without recursion (the code that reads a document recurses): in
/// document order, the open elements are a stack on which each element's parent is on top.
fn check_depth(doc: &Document, max_depth: usize) -> Result<()> {
    let mut open: Vec<NodeId> = Vec::with_capacity(16);
    for element in doc.descendants().filter(Node::is_element) {
        let parent = element.parent().map(|p| p.id());
        while open.last().is_some_and(|top| Some(*top) != parent) {
            open.pop();
        }
        open.push(element.id());
        if open.len() > max_depth {
            return Err(malformed(format!("elements nest deeper than {max_depth} levels, the limit")));
        }
    }
    Ok(())
}

/// One linear pass over the markup, before the parser builds anything: attributes per start tag
/// and namespace declarations overall are counted. Comments, CDATA, PIs and quoted values are
/// skipped. (On a document that is not well-formed the counts may be off; the parser then
/// refuses it anyway.)
fn count_attributes(text: &str, limits: Limits) -> Result<()> {
    let b = text.as_bytes();
    let (mut i, mut declarations) = (0usize, 0usize);
    let skip_past = |from: usize, end: &[u8]| -> usize {
        b.get(from..).and_then(|rest| memchr::memmem::find(rest, end)).map_or(b.len(), |p| from + p + end.len())
    };
    while let Some(rel) = b.get(i..).and_then(|rest| memchr::memchr(b'<', rest)) {
        i += rel + 1;
        match b.get(i) {
            Some(b'!') if b.get(i..i + 3) == Some(b"!--") => i = skip_past(i + 3, b"-->"),
            Some(b'!') if b.get(i..i + 8) == Some(b"![CDATA[") => i = skip_past(i + 8, b"]]>"),
            Some(b'?') => i = skip_past(i + 1, b"?>"),
            Some(b'/' | b'!') => i = skip_past(i, b">"),
            _ => {
                let tag = start_tag(b, i);
                i = tag.end;
                declarations += tag.declarations;
                if tag.attributes > limits.max_attributes_per_element {
                    return Err(malformed(format!(
                        "an element has {} attributes, over the limit of {}",
                        tag.attributes, limits.max_attributes_per_element
                    )));
                }
                if declarations > limits.max_namespace_declarations {
                    return Err(malformed(format!(
                        "more than {} namespace declarations",
                        limits.max_namespace_declarations
                    )));
                }
            }
        }
    }
    Ok(())
}

/// What [`start_tag`] counted in one start tag.
struct StartTag {
    attributes: usize,
    /// Namespace declarations among the attributes.
    declarations: usize,
    /// The position after its `>`.
    end: usize,
}

/// Reads the start tag whose name begins at `i`. Between quoted values it looks only at the
/// stretches outside quotes: each `=` there is an attribute, named by the word before it.
fn start_tag(b: &[u8], mut i: usize) -> StartTag {
    let mut tag = StartTag { attributes: 0, declarations: 0, end: b.len() };
    while let Some(rest) = b.get(i..) {
        let Some(stop) = memchr::memchr3(b'"', b'\'', b'>', rest) else { break };
        let outside = rest.get(..stop).unwrap_or_default();
        for name in outside.split(|c| *c == b'=').rev().skip(1) {
            tag.attributes += 1;
            let word = name.trim_ascii_end().rsplit(|c| c.is_ascii_whitespace()).next().unwrap_or_default();
            if word.starts_with(b"xmlns") {
                tag.declarations += 1;
            }
        }
        let at = i + stop;
        match b.get(at) {
            Some(b'>') => {
                tag.end = at + 1;
                return tag;
            }
            Some(&quote) => {
                i = b.get(at + 1..).and_then(|r| memchr::memchr(quote, r)).map_or(b.len(), |p| at + 1 + p + 1);
            }
            None => break,
        }
    }
    tag
}

/// True when `node` is an element with this namespace and local name.
pub fn is(node: Node, ns: &str, local: &str) -> bool {
    node.is_element() && node.tag_name().name() == local && node.tag_name().namespace() == Some(ns)
}

/// Element children with this namespace and local name.
pub fn children<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'static str,
    local: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| is(*c, ns, local))
}

/// The single child with this name; an error when there are several.
pub fn only_child<'a, 'i>(node: Node<'a, 'i>, ns: &'static str, local: &'static str) -> Result<Option<Node<'a, 'i>>> {
    let mut it = children(node, ns, local);
    let first = it.next();
    if it.next().is_some() {
        return Err(malformed(format!("more than one {local} in {}", node.tag_name().name())));
    }
    Ok(first)
}

/// The single required child with this name.
pub fn required_child<'a, 'i>(node: Node<'a, 'i>, ns: &'static str, local: &'static str) -> Result<Node<'a, 'i>> {
    only_child(node, ns, local)?.ok_or_else(|| malformed(format!("{} has no {local}", node.tag_name().name())))
}

/// The whole text of an element: every text and CDATA descendant joined, comments skipped. A
/// comment never splits a value (the CVE-2017-11427 family).
pub fn text_content(node: Node) -> String {
    match single_text(node) {
        Some(text) => text.to_owned(),
        None => joined_text(node),
    }
}

/// Trimmed whole text, for values whose schema type collapses whitespace (IDs, URIs, base64).
pub fn trimmed_text(node: Node) -> String {
    match single_text(node) {
        Some(text) => text.trim().to_owned(),
        None => joined_text(node).trim().to_owned(),
    }
}

/// The text of an element whose only child is one text node (the usual case), borrowed.
fn single_text<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    let child = node.first_child()?;
    if child.next_sibling().is_some() {
        return None;
    }
    child.text().filter(|_| child.is_text())
}

fn joined_text(node: Node) -> String {
    let mut out = String::new();
    for d in node.descendants() {
        if d.is_text() {
            out.push_str(d.text().unwrap_or_default());
        }
    }
    out
}

/// The qualified name of an element as written in the source (`prefix:local` or `local`).
pub fn source_qname<'i>(node: Node<'_, 'i>) -> &'i str {
    let input = node.document().input_text();
    let start = node.range().start + 1;
    let rest = input.get(start..).unwrap_or_default();
    let end = rest.bytes().position(|c| c.is_ascii_whitespace() || c == b'/' || c == b'>').unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default()
}

/// The `ID` attribute of a SAML element.
pub fn id_of<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    node.attribute("ID")
}

/// Every ID-typed attribute value in the document must be unique (`ID` of SAML, `Id` of
/// XML-DSig/XML-Enc, `AssertionID` of SAML 1). Returns the first duplicate.
pub fn first_duplicate_id<'a>(doc: &'a Document) -> Option<&'a str> {
    let ids: Vec<&str> = doc.descendants().filter(Node::is_element).flat_map(ids_of).collect();
    first_duplicate(&ids)
}

/// The values of an element's ID-typed attributes (SAML's `ID`, XML-DSig's `Id`, SAML 1's
/// `AssertionID`).
pub fn ids_of<'a>(node: Node<'a, '_>) -> impl Iterator<Item = &'a str> {
    node.attributes()
        .filter(|a| a.namespace().is_none() && matches!(a.name(), "ID" | "Id" | "AssertionID"))
        .map(|a| a.value())
}

/// The first value that repeats an earlier one.
pub fn first_duplicate<'a>(values: &[&'a str]) -> Option<&'a str> {
    // A message has a handful of IDs: a scan beats hashing them; a set takes over when an
    // attacker sends many.
    const SCANNED: usize = 16;
    if values.len() <= SCANNED {
        let seen_before = |(i, v): &(usize, &&str)| values.get(..*i).is_some_and(|before| before.contains(v));
        return values.iter().enumerate().find(seen_before).map(|(_, v)| *v);
    }
    let mut seen = std::collections::HashSet::with_capacity(values.len());
    values.iter().copied().find(|v| !seen.insert(*v))
}

/// The node with this id, for code that keeps `NodeId`s across borrows.
pub fn node<'a, 'i>(doc: &'a Document<'i>, id: NodeId) -> Option<Node<'a, 'i>> {
    doc.get_node(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_depth: usize) -> Limits {
        Limits { max_depth, ..Limits::MESSAGE }
    }

    fn nested(levels: usize, innermost: &str) -> String {
        format!("{}{innermost}{}", "<a x=\"/>\">".repeat(levels), "</a>".repeat(levels))
    }

    #[test]
    fn the_first_repeated_id_is_found_before_and_after_the_scan_gives_way_to_a_set() {
        let ids: Vec<String> = (0..40).map(|i| format!("_{i}")).collect();
        let first = |n: usize, then: &[&'static str]| -> Vec<&str> {
            ids.iter().take(n).map(String::as_str).chain(then.iter().copied()).collect()
        };
        assert_eq!(first_duplicate(&first(40, &[])), None);
        assert_eq!(first_duplicate(&first(5, &["_2", "_1"])), Some("_2"));
        // Past the scanned sixteen: a repeat of an early value and of a late one.
        assert_eq!(first_duplicate(&first(40, &["_3"])), Some("_3"));
        assert_eq!(first_duplicate(&first(30, &["_29"])), Some("_29"));
        assert_eq!(first_duplicate(&first(16, &["_15"])), Some("_15"));
        assert_eq!(first_duplicate(&first(15, &["_14"])), Some("_14"), "sixteen values: still scanned");
        let doc =
            parse(r#"<r ID="a"><x Id="b"/><y AssertionID="a"/><z ds:ID="a" xmlns:ds="urn:d"/></r>"#, Limits::MESSAGE)
                .unwrap();
        assert_eq!(first_duplicate_id(&doc), Some("a"));
    }

    #[test]
    fn text_is_joined_across_comments_and_cdata_and_trimmed_when_asked() {
        let doc =
            parse("<r><a> one </a><b>al<!-- x -->ice<![CDATA[@]]>ex</b><c/><d><!-- only --></d></r>", Limits::MESSAGE)
                .unwrap();
        let child = |name: &str| doc.descendants().find(|n| n.has_tag_name(name)).unwrap();
        assert_eq!(text_content(child("a")), " one ");
        assert_eq!(trimmed_text(child("a")), "one");
        assert_eq!(text_content(child("b")), "alice@ex");
        assert_eq!(text_content(child("c")), "");
        assert_eq!(text_content(child("d")), "");
    }

    #[test]
    fn nesting_is_bounded_counting_empty_elements_and_ignoring_quotes() {
        assert!(parse(&nested(4, "text"), limits(4)).is_ok());
        assert!(parse(&nested(5, "text"), limits(4)).is_err());
        assert!(parse(&nested(3, "<b/>"), limits(4)).is_ok(), "an empty element is one level deeper");
        assert!(parse(&nested(4, "<b y='>'/>"), limits(4)).is_err());
        // Siblings do not add up; closing tags give levels back.
        let wide = format!("<r>{}</r>", "<a><b/></a>".repeat(50));
        assert!(parse(&wide, limits(3)).is_ok());
        let error = parse(&nested(70, ""), Limits::MESSAGE).unwrap_err();
        assert!(error.to_string().contains("deeper than 64"), "{error}");
    }

    #[test]
    fn nesting_as_deep_as_the_node_limit_allows_is_refused_without_recursing() {
        let deep = format!("{}{}", "<a>".repeat(40_000), "</a>".repeat(40_000));
        let error = parse(&deep, Limits::MESSAGE).unwrap_err();
        assert!(error.to_string().contains("deeper than 64"), "{error}");
    }

    #[test]
    fn many_equals_signs_outside_tags_only_make_the_count_exact() {
        let text = format!("<r a=\"1\"><v>{}</v><!-- {} --></r>", "=".repeat(300), "a=1 ".repeat(300));
        let tight = Limits { max_attributes_per_element: 1, max_namespace_declarations: 1, ..Limits::MESSAGE };
        assert!(parse(&text, tight).is_ok());
        let two = text.replacen("<r a=\"1\">", "<r a=\"1\" b=\"=\">", 1);
        assert!(parse(&two, tight).unwrap_err().to_string().contains("2 attributes"));
    }

    #[test]
    fn a_dtd_is_refused_in_any_case_but_the_word_in_a_comment_or_cdata_is_text() {
        for dtd in ["<!DOCTYPE r><r/>", "<?xml version=\"1.0\"?>\n<!doctype r [<!ENTITY x \"y\">]><r>&x;</r>"] {
            let error = parse(dtd, Limits::MESSAGE).unwrap_err();
            assert!(error.to_string().contains("DTDs"), "{error}");
        }
        let doc = parse("<r><!-- <!DOCTYPE r> --><![CDATA[<!DOCTYPE r>]]></r>", Limits::MESSAGE).unwrap();
        let texts: Vec<&str> = doc.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect();
        assert_eq!(texts, ["<!DOCTYPE r>"]);
    }

    #[test]
    fn attributes_and_declarations_are_counted_outside_quoted_values() {
        let many = format!("<r {}/>", (0..10).map(|n| format!("a{n}=\"=\"")).collect::<Vec<_>>().join(" "));
        let tight = Limits { max_attributes_per_element: 10, ..Limits::MESSAGE };
        assert!(parse(&many, tight).is_ok());
        assert!(parse(&many, Limits { max_attributes_per_element: 9, ..Limits::MESSAGE }).is_err());
        let declared = "<r xmlns:a=\"urn:a\"><s xmlns:b=\"urn:b\" xmlns=\"urn:c\"/></r>";
        assert!(parse(declared, Limits { max_namespace_declarations: 3, ..Limits::MESSAGE }).is_ok());
        assert!(parse(declared, Limits { max_namespace_declarations: 2, ..Limits::MESSAGE }).is_err());
    }
}
