//! A small XML builder for the dialects' own documents (AMCR's `amcr:amcr`, tDAR's
//! `tdar:resultContainer`), and the escaping shared with the DRF encoder.

use std::borrow::Cow;

use super::xml::is_xml_char;

/// The XML declaration a document starts with (each followed by a newline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum XmlDeclaration {
    /// No declaration.
    None,
    /// `<?xml version="1.0" encoding="utf-8"?>`, as Python's `XMLGenerator` (DRF) writes it.
    Drf,
    /// `<?xml version='1.0' encoding='utf-8'?>`, as lxml's `tostring(xml_declaration=True)`
    /// writes it.
    Lxml,
    /// `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`, as a JAXB marshaller writes it.
    JaxbStandalone,
}

impl XmlDeclaration {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Drf => "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n",
            Self::Lxml => "<?xml version='1.0' encoding='utf-8'?>\n",
            Self::JaxbStandalone => "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
        }
    }
}

struct Open {
    name: String,
    has_children: bool,
    has_text: bool,
}

/// Builds an XML document element by element, escaping all text and attribute values.
///
/// Element and attribute names (with their prefixes, e.g. `amcr:uzivatel`, `xmlns:amcr`,
/// `xml:lang`) must come from code, never from user input: they are checked with a
/// `debug_assert!`, and in release builds any character not allowed in an XML name is replaced by
/// `_` so the output stays well-formed. Text and attribute values may be anything: `&`, `<`,
/// `>`, `"` and `'` are escaped and characters XML 1.0 forbids (controls other than tab, newline
/// and carriage return, U+FFFE, U+FFFF) are dropped.
///
/// With [`pretty`](Self::pretty), child elements go on their own lines indented by 2 spaces
/// (elements holding text stay on one line).
///
/// ```
/// use authmount::codec::{XmlDeclaration, XmlWriter};
///
/// let mut w = XmlWriter::new(XmlDeclaration::JaxbStandalone).pretty();
/// w.start("tdar:resultContainer", &[
///     ("xmlns:tdar", "http://www.tdar.org/namespace"),
///     ("username", "alice"),
/// ]);
/// w.leaf("tdar:message", &[], "Terms & conditions <apply>");
/// w.leaf("tdar:statusCode", &[], "200");
/// w.end();
/// assert_eq!(
///     w.finish(),
///     "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
///      <tdar:resultContainer xmlns:tdar=\"http://www.tdar.org/namespace\" username=\"alice\">\n  \
///        <tdar:message>Terms &amp; conditions &lt;apply&gt;</tdar:message>\n  \
///        <tdar:statusCode>200</tdar:statusCode>\n\
///      </tdar:resultContainer>\n"
/// );
/// ```
pub struct XmlWriter {
    out: String,
    open: Vec<Open>,
    pretty: bool,
}

impl XmlWriter {
    /// Starts a document with the given declaration.
    pub fn new(declaration: XmlDeclaration) -> Self {
        let mut out = String::with_capacity(512);
        out.push_str(declaration.as_str());
        Self { out, open: Vec::new(), pretty: false }
    }

    /// Turns on indentation (2 spaces per level).
    #[must_use]
    pub fn pretty(mut self) -> Self {
        self.pretty = true;
        self
    }

    /// Opens `<name attr="value"...>`; close it with [`end`](Self::end).
    pub fn start(&mut self, name: &str, attributes: &[(&str, &str)]) -> &mut Self {
        self.open_tag(name, attributes);
        self.out.push('>');
        self.open.push(Open { name: checked_name(name).into_owned(), has_children: false, has_text: false });
        self
    }

    /// Writes escaped text into the element opened last. Text outside any element is a bug in
    /// the caller and is dropped (asserted in debug builds).
    pub fn text(&mut self, text: &str) -> &mut Self {
        let Some(open) = self.open.last_mut() else {
            debug_assert!(false, "XmlWriter::text outside any element");
            return self;
        };
        open.has_text = true;
        push_escaped(&mut self.out, text, Escape::Text);
        self
    }

    /// Closes the element opened last (does nothing when none is open; asserted in debug builds).
    pub fn end(&mut self) -> &mut Self {
        let Some(open) = self.open.pop() else {
            debug_assert!(false, "XmlWriter::end with no open element");
            return self;
        };
        if self.pretty && open.has_children && !open.has_text {
            self.newline();
        }
        self.out.push_str("</");
        self.out.push_str(&open.name);
        self.out.push('>');
        self
    }

    /// Writes a complete element `<name attr="value"...>text</name>`.
    pub fn leaf(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) -> &mut Self {
        self.open_tag(name, attributes);
        self.out.push('>');
        push_escaped(&mut self.out, text, Escape::Text);
        self.out.push_str("</");
        self.out.push_str(&checked_name(name));
        self.out.push('>');
        self
    }

    /// Writes a self-closing element `<name attr="value"/>`.
    pub fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) -> &mut Self {
        self.open_tag(name, attributes);
        self.out.push_str("/>");
        self
    }

    /// Closes any element still open and returns the document.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.end();
        }
        if self.pretty && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.out
    }

    fn open_tag(&mut self, name: &str, attributes: &[(&str, &str)]) {
        let mixed = match self.open.last_mut() {
            Some(parent) => {
                parent.has_children = true;
                parent.has_text
            }
            None => false,
        };
        if self.pretty && !mixed {
            self.newline();
        }
        self.out.push('<');
        self.out.push_str(&checked_name(name));
        for (attr, value) in attributes {
            self.out.push(' ');
            self.out.push_str(&checked_name(attr));
            self.out.push_str("=\"");
            push_escaped(&mut self.out, value, Escape::Attribute);
            self.out.push('"');
        }
    }

    /// A line break and the indentation for the current depth (no break at the very start).
    fn newline(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }
}

/// What [`push_escaped`] escapes besides dropping characters XML forbids.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escape {
    /// `&`, `<`, `>` only: byte-compatible with Python's `xml.sax.saxutils.escape` (DRF).
    Minimal,
    /// `&`, `<`, `>`, `"`, `'`, and `\r` as `&#13;` so it survives end-of-line normalisation.
    Text,
    /// As `Text`, plus tab and newline as character references so attribute-value
    /// normalisation keeps them.
    Attribute,
}

/// Appends `text` escaped for XML, dropping characters XML 1.0 forbids.
pub(crate) fn push_escaped(out: &mut String, text: &str, mode: Escape) {
    let mut run_start = 0;
    for (i, c) in text.char_indices() {
        let replacement = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' if mode != Escape::Minimal => "&quot;",
            '\'' if mode != Escape::Minimal => "&apos;",
            '\r' if mode != Escape::Minimal => "&#13;",
            '\n' if mode == Escape::Attribute => "&#10;",
            '\t' if mode == Escape::Attribute => "&#9;",
            c if !is_xml_char(c) => "",
            _ => continue,
        };
        out.push_str(&text[run_start..i]);
        out.push_str(replacement);
        run_start = i + c.len_utf8();
    }
    out.push_str(&text[run_start..]);
}

/// `name` if it is a valid XML name (prefix allowed), else a well-formed stand-in with invalid
/// characters replaced by `_`. Asserted in debug builds: names must come from code.
pub(crate) fn checked_name(name: &str) -> Cow<'_, str> {
    if is_xml_name(name) {
        return Cow::Borrowed(name);
    }
    debug_assert!(false, "invalid XML name {name:?}: names must come from code");
    Cow::Owned(sanitize_name(name))
}

/// Replaces characters not allowed in an XML name with `_` (used for object keys of data).
pub(crate) fn sanitize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len().max(1));
    for (i, c) in name.chars().enumerate() {
        let ok = if i == 0 { is_name_start(c) } else { is_name_char(c) };
        out.push(if ok { c } else { '_' });
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// XML 1.0 `Name`.
pub(crate) fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations() {
        let finish = |d| XmlWriter::new(d).finish();
        assert_eq!(finish(XmlDeclaration::None), "");
        assert_eq!(finish(XmlDeclaration::Drf), "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        assert_eq!(finish(XmlDeclaration::Lxml), "<?xml version='1.0' encoding='utf-8'?>\n");
        assert_eq!(
            finish(XmlDeclaration::JaxbStandalone),
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
        );
    }

    #[test]
    fn compact_document_with_namespaces() {
        let mut w = XmlWriter::new(XmlDeclaration::Lxml);
        w.start(
            "amcr:amcr",
            &[
                ("xmlns:amcr", "https://api.aiscr.cz/schema/amcr/2.1/"),
                (
                    "xsi:schemaLocation",
                    "https://api.aiscr.cz/schema/amcr/2.1/ https://api.aiscr.cz/schema/amcr/2.1/amcr.xsd",
                ),
            ],
        )
        .start("amcr:uzivatel", &[])
        .leaf("amcr:jmeno", &[], "Jan \"Honza\" O'Neil")
        .leaf("amcr:osoba", &[("id", "os-1<2>")], "Novák & syn")
        .leaf("amcr:organizace", &[("id", "ORG"), ("xml:lang", "cs")], "ARÚP")
        .empty("amcr:telefon", &[])
        .end()
        .end();
        assert_eq!(
            w.finish(),
            concat!(
                "<?xml version='1.0' encoding='utf-8'?>\n",
                "<amcr:amcr xmlns:amcr=\"https://api.aiscr.cz/schema/amcr/2.1/\" xsi:schemaLocation=\"https://api.aiscr.cz/schema/amcr/2.1/ https://api.aiscr.cz/schema/amcr/2.1/amcr.xsd\">",
                "<amcr:uzivatel><amcr:jmeno>Jan &quot;Honza&quot; O&apos;Neil</amcr:jmeno>",
                "<amcr:osoba id=\"os-1&lt;2&gt;\">Novák &amp; syn</amcr:osoba>",
                "<amcr:organizace id=\"ORG\" xml:lang=\"cs\">ARÚP</amcr:organizace>",
                "<amcr:telefon/></amcr:uzivatel></amcr:amcr>"
            )
        );
    }

    #[test]
    fn pretty_indents_two_spaces_and_closes_open_elements() {
        let mut w = XmlWriter::new(XmlDeclaration::Drf).pretty();
        w.start("a", &[]).start("b", &[]).leaf("c", &[], "1").empty("d", &[("x", "y")]);
        w.start("e", &[]).end();
        w.start("m", &[]).text("mixed ").leaf("i", &[], "inline").text(" end");
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<a>\n  <b>\n    <c>1</c>\n    <d x=\"y\"/>\n    <e></e>\n    <m>mixed <i>inline</i> end</m>\n  </b>\n</a>\n"
        );
    }

    #[test]
    fn drops_characters_xml_forbids_and_escapes_attributes() {
        let mut w = XmlWriter::new(XmlDeclaration::None);
        w.leaf(
            "t",
            &[("a", "tab\tnl\ncr\r\u{0}q\"a'")],
            "x\u{0}\u{8}\u{b}\u{c}\u{e}\u{1f}\u{fffe}\u{ffff}y\tz\r\n",
        );
        assert_eq!(w.finish(), "<t a=\"tab&#9;nl&#10;cr&#13;q&quot;a&apos;\">xy\tz&#13;\n</t>");
    }

    #[test]
    fn the_output_parses_back() {
        let mut w = XmlWriter::new(XmlDeclaration::Drf).pretty();
        w.start("root", &[("xmlns:p", "urn:p")])
            .leaf("p:username", &[], "<&>\"'é\u{1}")
            .start("meta", &[])
            .leaf("gemeinde", &[], "5");
        let doc = w.finish();
        let map =
            super::super::xml::decode(doc.as_bytes(), &super::super::BodyLimits::default()).expect("parses");
        assert_eq!(
            serde_json::Value::Object(map),
            serde_json::json!({"username": "<&>\"'é", "meta": {"gemeinde": "5"}})
        );
    }

    #[test]
    fn names() {
        assert!(is_xml_name("amcr:uzivatel"));
        assert!(is_xml_name("list-item"));
        assert!(is_xml_name("_x.1"));
        assert!(is_xml_name("příjmení"));
        assert!(!is_xml_name(""));
        assert!(!is_xml_name("1a"));
        assert!(!is_xml_name("a b"));
        assert!(!is_xml_name("a<b"));
        assert_eq!(sanitize_name("a b<c"), "a_b_c");
        assert_eq!(sanitize_name("1x"), "_x");
        assert_eq!(sanitize_name(""), "_");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "names must come from code")]
    fn invalid_names_are_a_bug() {
        XmlWriter::new(XmlDeclaration::None).empty("a b", &[]);
    }
}
