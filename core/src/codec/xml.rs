//! XML bodies in the DRF XML parser's shape, read from quick-xml events (no serde, no DTD).
//!
//! `<root><username>alice</username><meta><gemeinde>5</gemeinde></meta></root>` decodes to
//! `{"username": "alice", "meta": {"gemeinde": "5"}}`: the root's name is ignored, its children
//! become keys, an element with only text is a string (an element with nothing at all is `null`,
//! as DRF's parser gives `None`), an element with children is an object, and children all named
//! `list-item` make an array. Values stay strings: the dialects' validators coerce them like DRF's
//! fields do.
//!
//! Refused with 400: any `<!DOCTYPE` (so no external entities and no entity expansion bombs),
//! entities other than the five predefined ones, character references to characters XML
//! forbids, text mixed with elements, `list-item` mixed with named children, duplicate names,
//! nesting over the limit, a declared encoding other than UTF-8 (the body contradicts itself, so
//! this is a malformed body rather than an unsupported media type), unclosed elements, a second
//! root, and text outside the root. Attributes are ignored; names lose their namespace prefix.

use quick_xml::events::{BytesRef, Event};
use quick_xml::reader::Reader;
use serde_json::{Map, Value};

use super::error::{CodecError, MalformedReason, detail, echo};
use super::{BodyFormat, BodyLimits};

/// The DRF convention for array items, in both directions.
pub(crate) const LIST_ITEM: &str = "list-item";

/// One open element.
struct Frame {
    name: String,
    /// Text, CDATA and references seen directly inside, concatenated; `None` when there were none.
    text: Option<String>,
    children: Children,
}

enum Children {
    None,
    Map(Map<String, Value>),
    List(Vec<Value>),
}

impl Frame {
    fn new(name: String) -> Self {
        Self { name, text: None, children: Children::None }
    }

    fn has_non_whitespace_text(&self) -> bool {
        self.text.as_deref().is_some_and(|t| !t.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')))
    }

    /// Appends character data; refuses it next to child elements unless it is whitespace.
    fn push_text(&mut self, s: &str) -> Result<(), MalformedReason> {
        self.text.get_or_insert_with(String::new).push_str(s);
        if !matches!(self.children, Children::None) && self.has_non_whitespace_text() {
            return Err(self.mixed());
        }
        Ok(())
    }

    fn mixed(&self) -> MalformedReason {
        MalformedReason::MixedContent { element: echo(&self.name) }
    }

    /// Adds a finished child element.
    fn add_child(&mut self, name: String, value: Value) -> Result<(), MalformedReason> {
        if self.has_non_whitespace_text() {
            return Err(self.mixed());
        }
        let is_item = name == LIST_ITEM;
        match &mut self.children {
            Children::None if is_item => self.children = Children::List(vec![value]),
            Children::None => {
                let mut map = Map::new();
                map.insert(name, value);
                self.children = Children::Map(map);
            }
            Children::List(items) if is_item => items.push(value),
            Children::Map(map) if !is_item => {
                if map.contains_key(&name) {
                    return Err(MalformedReason::DuplicateField { name: echo(&name) });
                }
                map.insert(name, value);
            }
            Children::List(_) | Children::Map(_) => {
                return Err(MalformedReason::MixedListItems { element: echo(&self.name) });
            }
        }
        Ok(())
    }

    fn into_value(self) -> Value {
        match self.children {
            Children::Map(map) => Value::Object(map),
            Children::List(items) => Value::Array(items),
            Children::None => self.text.map_or(Value::Null, Value::String),
        }
    }
}

/// Decodes an XML body into the map of its root element's children.
pub(crate) fn decode(body: &[u8], limits: &BodyLimits) -> Result<Map<String, Value>, CodecError> {
    read(body, limits).map_err(|reason| CodecError::malformed(BodyFormat::Xml, reason))
}

fn read(body: &[u8], limits: &BodyLimits) -> Result<Map<String, Value>, MalformedReason> {
    let text = std::str::from_utf8(body).map_err(|_| MalformedReason::InvalidUtf8 { field: None })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_ascii().is_empty() {
        return Err(MalformedReason::Empty);
    }
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.check_comments = false;
    config.expand_empty_elements = false;
    config.allow_dangling_amp = false;
    config.allow_unmatched_ends = false;

    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    loop {
        let event = reader.read_event().map_err(detail)?;
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(MalformedReason::ContentOutsideRoot);
            }
            Event::Start(start) => {
                let name = start.local_name().as_ref().to_owned();
                // The element's parent becomes a container at depth `stack.len()` (root = 1).
                // Our own check: quick-xml's nesting limit (0.42) belongs to its serde
                // `Deserializer::recursion_limit`; the event `Reader` read here has none.
                if stack.len() > limits.max_depth {
                    return Err(MalformedReason::TooDeep { limit: limits.max_depth });
                }
                stack.push(Frame::new(name));
            }
            Event::Empty(start) => {
                let name = start.local_name().as_ref().to_owned();
                if stack.len() > limits.max_depth {
                    return Err(MalformedReason::TooDeep { limit: limits.max_depth });
                }
                close(&mut stack, &mut root, Frame::new(name))?;
            }
            Event::End(_) => {
                // quick-xml has checked the end name matches, so the stack cannot be empty.
                let frame = stack.pop().ok_or(MalformedReason::ContentOutsideRoot)?;
                close(&mut stack, &mut root, frame)?;
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                match stack.last_mut() {
                    Some(frame) => frame.push_text(&s)?,
                    None if s.trim_ascii().is_empty() => {}
                    None => return Err(MalformedReason::ContentOutsideRoot),
                }
            }
            Event::CData(c) => {
                let s = c.xml10_content();
                let frame = stack.last_mut().ok_or(MalformedReason::ContentOutsideRoot)?;
                frame.push_text(&s)?;
            }
            Event::GeneralRef(r) => {
                let c = resolve_reference(&r)?;
                let frame = stack.last_mut().ok_or(MalformedReason::ContentOutsideRoot)?;
                frame.push_text(c.encode_utf8(&mut [0; 4]))?;
            }
            Event::DocType(_) => return Err(MalformedReason::DocType),
            Event::Decl(decl) => {
                if let Some(encoding) = decl.encoding() {
                    let encoding = encoding.map_err(detail)?;
                    let encoding = encoding.as_ref();
                    if !(encoding.eq_ignore_ascii_case("utf-8") || encoding.eq_ignore_ascii_case("utf8")) {
                        return Err(MalformedReason::UnsupportedEncoding { encoding: echo(encoding) });
                    }
                }
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(MalformedReason::Truncated);
    }
    match root {
        Some(Value::Object(map)) => Ok(map),
        Some(Value::Null) => Ok(Map::new()),
        Some(_) => Err(MalformedReason::NotAnObject),
        None => Err(MalformedReason::NoRootElement),
    }
}

/// Finishes `frame`: into its parent, or as the document's root.
fn close(stack: &mut [Frame], root: &mut Option<Value>, mut frame: Frame) -> Result<(), MalformedReason> {
    match stack.last_mut() {
        Some(parent) => {
            let name = std::mem::take(&mut frame.name);
            parent.add_child(name, frame.into_value())
        }
        None => {
            // `<root>   </root>` is an empty root, not the string "   ".
            let value = match frame.children {
                Children::None if !frame.has_non_whitespace_text() => Value::Null,
                _ => frame.into_value(),
            };
            *root = Some(value);
            Ok(())
        }
    }
}

/// The five predefined entities and numeric character references; anything else is refused.
fn resolve_reference(r: &BytesRef<'_>) -> Result<char, MalformedReason> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) if is_xml_char(c) => Ok(c),
            _ => Err(MalformedReason::InvalidCharRef),
        };
    }
    match r.as_ref() {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(MalformedReason::UndefinedEntity { name: echo(other) }),
    }
}

/// XML 1.0 `Char`.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn dec(body: &str) -> Result<Value, MalformedReason> {
        read(body.as_bytes(), &BodyLimits::default()).map(Value::Object)
    }

    fn reason(body: &[u8]) -> MalformedReason {
        match read(body, &BodyLimits::default()) {
            Err(reason) => reason,
            Ok(map) => panic!("expected an error, got {map:?}"),
        }
    }

    #[test]
    fn decodes_drf_shapes() {
        assert_eq!(
            dec("<root><username>alice</username><password>correct horse</password></root>"),
            Ok(json!({"username": "alice", "password": "correct horse"}))
        );
        assert_eq!(
            dec(concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- login -->\n",
                "<root xmlns:m=\"urn:m\" lang=\"de\">\n  <m:meta id=\"1\">\n    <gemeinde>5</gemeinde>\n",
                "    <description><![CDATA[a <b> & c]]></description>\n  </m:meta>\n",
                "  <tags><list-item>a</list-item><list-item><x>1</x></list-item></tags>\n",
                "  <empty/><blank></blank><spaces>  </spaces>\n",
                "  <esc>&lt;&gt;&amp;&apos;&quot;&#233;&#x41;</esc>\n",
                "</root>\n<?pi after?>\n<!-- trailer -->\n"
            )),
            Ok(json!({
                "meta": {"gemeinde": "5", "description": "a <b> & c"},
                "tags": ["a", {"x": "1"}],
                "empty": null, "blank": null, "spaces": "  ",
                "esc": "<>&'\"éA",
            }))
        );
        assert_eq!(dec("<root/>"), Ok(json!({})));
        assert_eq!(dec("\u{feff}<root> \n </root>"), Ok(json!({})));
        assert_eq!(dec("<r><a>x\r\ny</a></r>"), Ok(json!({"a": "x\ny"})));
    }

    #[test]
    fn refuses_doctype_xxe_and_entity_bombs() {
        assert_eq!(reason(b"<!DOCTYPE root><root/>"), MalformedReason::DocType);
        let xxe = br#"<?xml version="1.0"?><!DOCTYPE root [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><root><username>&xxe;</username></root>"#;
        assert_eq!(reason(xxe), MalformedReason::DocType);
        let laughs = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"#;
        assert_eq!(reason(laughs), MalformedReason::DocType);
        // A DOCTYPE after the root is refused too.
        assert_eq!(reason(b"<root/><!DOCTYPE x>"), MalformedReason::DocType);
    }

    #[test]
    fn refuses_undefined_entities_and_bad_char_refs() {
        assert_eq!(
            reason(b"<root><u>&xxe;</u></root>"),
            MalformedReason::UndefinedEntity { name: "xxe".into() }
        );
        assert_eq!(
            reason(b"<root><u>&nbsp;</u></root>"),
            MalformedReason::UndefinedEntity { name: "nbsp".into() }
        );
        assert_eq!(reason(b"<root><u>&#0;</u></root>"), MalformedReason::InvalidCharRef);
        assert_eq!(reason(b"<root><u>&#x1;</u></root>"), MalformedReason::InvalidCharRef);
        assert_eq!(reason(b"<root><u>&#xD800;</u></root>"), MalformedReason::InvalidCharRef);
        assert_eq!(reason(b"<root><u>&#xFFFE;</u></root>"), MalformedReason::InvalidCharRef);
        assert_eq!(reason(b"<root><u>&#zz;</u></root>"), MalformedReason::InvalidCharRef);
        assert!(matches!(reason(b"<root><u>a & b</u></root>"), MalformedReason::Syntax { .. }));
    }

    #[test]
    fn refuses_duplicates_mixed_content_and_mixed_lists() {
        assert_eq!(
            reason(b"<root><username>a</username><username>b</username></root>"),
            MalformedReason::DuplicateField { name: "username".into() }
        );
        assert_eq!(
            reason(b"<root><m><a/><b/><a/></m></root>"),
            MalformedReason::DuplicateField { name: "a".into() }
        );
        // Same local name under different prefixes is still a duplicate.
        assert_eq!(
            reason(b"<root xmlns:p='urn:p'><p:a>1</p:a><a>2</a></root>"),
            MalformedReason::DuplicateField { name: "a".into() }
        );
        assert_eq!(
            reason(b"<root><a>text<b>1</b></a></root>"),
            MalformedReason::MixedContent { element: "a".into() }
        );
        assert_eq!(
            reason(b"<root><a><b>1</b>text</a></root>"),
            MalformedReason::MixedContent { element: "a".into() }
        );
        assert_eq!(
            reason(b"<root>text<a>1</a></root>"),
            MalformedReason::MixedContent { element: "root".into() }
        );
        assert_eq!(
            reason(b"<root><a><list-item>1</list-item><b>2</b></a></root>"),
            MalformedReason::MixedListItems { element: "a".into() }
        );
        assert_eq!(
            reason(b"<root><a><b>2</b><list-item>1</list-item></a></root>"),
            MalformedReason::MixedListItems { element: "a".into() }
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}x{}", "<a>".repeat(33), "</a>".repeat(33));
        assert!(read(ok.as_bytes(), &BodyLimits::default()).is_ok());
        let deep = format!("{}x{}", "<a>".repeat(34), "</a>".repeat(34));
        assert_eq!(reason(deep.as_bytes()), MalformedReason::TooDeep { limit: 32 });
        let deep_empty = format!("{}<a/>{}", "<a>".repeat(33), "</a>".repeat(33));
        assert_eq!(reason(deep_empty.as_bytes()), MalformedReason::TooDeep { limit: 32 });
        let huge = "<a>".repeat(20_000);
        assert_eq!(reason(huge.as_bytes()), MalformedReason::TooDeep { limit: 32 });
    }

    #[test]
    fn refuses_other_encodings_and_invalid_utf8() {
        assert_eq!(
            reason(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><root/>"),
            MalformedReason::UnsupportedEncoding { encoding: "ISO-8859-1".into() }
        );
        assert!(read(b"<?xml version='1.0' encoding='utf-8'?><root/>", &BodyLimits::default()).is_ok());
        assert_eq!(reason(b"<root><u>\xff</u></root>"), MalformedReason::InvalidUtf8 { field: None });
        // UTF-16 with a BOM is not UTF-8.
        assert_eq!(reason(b"\xff\xfe<\0r\0/\0>\0"), MalformedReason::InvalidUtf8 { field: None });
    }

    #[test]
    fn refuses_broken_documents() {
        assert_eq!(reason(b""), MalformedReason::Empty);
        assert_eq!(reason(b"  \n"), MalformedReason::Empty);
        assert_eq!(reason(b"<!-- only a comment -->"), MalformedReason::NoRootElement);
        assert_eq!(reason(b"<root><a>1</a>"), MalformedReason::Truncated);
        assert_eq!(reason(b"<root/><root/>"), MalformedReason::ContentOutsideRoot);
        assert_eq!(reason(b"hello<root/>"), MalformedReason::ContentOutsideRoot);
        assert_eq!(reason(b"<root/>hello"), MalformedReason::ContentOutsideRoot);
        assert_eq!(reason(b"<root>hello</root>"), MalformedReason::NotAnObject);
        assert_eq!(reason(b"<root><list-item>1</list-item></root>"), MalformedReason::NotAnObject);
        assert!(matches!(reason(b"<root><a></b></root>"), MalformedReason::Syntax { .. }));
        assert!(matches!(reason(b"<root></root></x>"), MalformedReason::Syntax { .. }));
        assert!(matches!(reason(b"<root"), MalformedReason::Syntax { .. }));
        assert!(matches!(reason(b"plain text"), MalformedReason::ContentOutsideRoot));
    }
}
