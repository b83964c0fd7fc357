//! Short builders for the JSON Schemas the endpoint descriptions use, over utoipa's model
//! ([`Schema`]): strings, numbers, objects with required and optional properties, lists, maps,
//! `null`-able values, alternatives, and XML roots.
//!
//! ```
//! use authmount::openapi::schema::{object, string, string_list};
//! let errors = object(&[("detail", string())], &[("messages", string_list())]);
//! let json = serde_json::to_value(&errors).unwrap();
//! assert_eq!(json["required"], serde_json::json!(["detail"]));
//! assert_eq!(json["properties"]["messages"]["items"]["type"], "string");
//! ```

use serde_json::Value;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::xml::XmlBuilder;

fn of_type(kind: Type) -> Schema {
    Schema::Object(ObjectBuilder::new().schema_type(kind).build())
}

/// A string.
pub fn string() -> Schema {
    of_type(Type::String)
}

/// A string with at least one character that is not whitespace: what DRF's `CharField`
/// (trimmed, not blank) and the dialects' login fields accept.
///
/// ```
/// let json = serde_json::to_value(authmount::openapi::schema::text()).unwrap();
/// assert_eq!((json["minLength"].as_u64(), json["pattern"].as_str()), (Some(1), Some("\\S")));
/// ```
pub fn text() -> Schema {
    Schema::Object(
        ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).pattern(Some("\\S")).build(),
    )
}

/// One of these strings.
///
/// ```
/// let schema = authmount::openapi::schema::one_of_strings(&["access", "refresh"]);
/// assert_eq!(serde_json::to_value(&schema).unwrap()["enum"], serde_json::json!(["access", "refresh"]));
/// ```
pub fn one_of_strings(values: &[&str]) -> Schema {
    Schema::Object(
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.iter().copied())).build(),
    )
}

/// An integer.
pub fn integer() -> Schema {
    of_type(Type::Integer)
}

/// A number (integer or fraction).
pub fn number() -> Schema {
    of_type(Type::Number)
}

/// `true` or `false`.
pub fn boolean() -> Schema {
    of_type(Type::Boolean)
}

/// Exactly `value` (a JSON Schema `const`, written as a one-value `enum`).
///
/// ```
/// let json = serde_json::to_value(authmount::openapi::schema::constant(true)).unwrap();
/// assert_eq!((json["type"].as_str(), &json["enum"]), (Some("boolean"), &serde_json::json!([true])));
/// ```
pub fn constant(value: impl Into<Value>) -> Schema {
    let value = value.into();
    let kind = match &value {
        Value::Bool(_) => Type::Boolean,
        Value::Number(n) if n.is_i64() || n.is_u64() => Type::Integer,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::Null => Type::Null,
        Value::Array(_) => Type::Array,
        Value::Object(_) => Type::Object,
    };
    Schema::Object(ObjectBuilder::new().schema_type(kind).enum_values(Some([value])).build())
}

/// Any JSON value.
pub fn any() -> Schema {
    Schema::Object(ObjectBuilder::new().schema_type(SchemaType::AnyValue).build())
}

/// A value of `kind` or `null` (`"type": [kind, "null"]`): only for the scalar schemas of this
/// module ([`string`], [`integer`], [`number`], [`boolean`]).
///
/// ```
/// use authmount::openapi::schema::{nullable_string, string};
/// let json = serde_json::to_value(nullable_string()).unwrap();
/// assert_eq!(json["type"], serde_json::json!(["string", "null"]));
/// # let _ = string();
/// ```
pub fn nullable(kind: Type) -> Schema {
    Schema::Object(ObjectBuilder::new().schema_type(SchemaType::from_iter([kind, Type::Null])).build())
}

/// A string or `null`.
pub fn nullable_string() -> Schema {
    nullable(Type::String)
}

/// An object with the `required` properties (in order) and the `optional` ones; other properties
/// are allowed (clients must ignore what they do not know).
///
/// ```
/// use authmount::openapi::schema::{object, string, text};
/// let login = serde_json::to_value(object(&[("username", text())], &[("otp", string())])).unwrap();
/// assert_eq!(login["required"], serde_json::json!(["username"]));
/// assert!(login["properties"]["otp"].is_object());
/// ```
pub fn object(required: &[(&str, Schema)], optional: &[(&str, Schema)]) -> Schema {
    let mut builder = ObjectBuilder::new().schema_type(Type::Object);
    for (name, schema) in required {
        builder = builder.property(*name, schema.clone()).required(*name);
    }
    for (name, schema) in optional {
        builder = builder.property(*name, schema.clone());
    }
    Schema::Object(builder.build())
}

/// Any JSON object.
pub fn any_object() -> Schema {
    of_type(Type::Object)
}

/// An object whose every property's value is `values` (a map).
///
/// ```
/// use authmount::openapi::schema::{integer, map_of};
/// let counts = serde_json::to_value(map_of(integer())).unwrap();
/// assert_eq!(counts["additionalProperties"]["type"], "integer");
/// ```
pub fn map_of(values: Schema) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::RefOr(values.into())))
            .build(),
    )
}

/// A list of `items`.
pub fn array(items: Schema) -> Schema {
    Schema::Array(ArrayBuilder::new().items(utoipa::openapi::RefOr::T(items)).build())
}

/// A list of strings.
pub fn string_list() -> Schema {
    array(string())
}

/// DRF's field errors: `{"field": ["message", ...], ...}` (nested serializers nest objects).
///
/// ```
/// let errors = serde_json::to_value(authmount::openapi::schema::field_errors()).unwrap();
/// assert_eq!(errors["additionalProperties"]["anyOf"][0]["items"]["type"], "string");
/// ```
pub fn field_errors() -> Schema {
    map_of(any_of([string_list(), any_object()]))
}

/// A value that fits at least one of `schemas`.
pub fn any_of(schemas: impl IntoIterator<Item = Schema>) -> Schema {
    let mut builder = AnyOfBuilder::new();
    for schema in schemas {
        builder = builder.item(schema);
    }
    Schema::AnyOf(builder.build())
}

/// `schema` as the XML document whose root element is `root` (properties are child elements).
///
/// ```
/// use authmount::openapi::schema::{object, string, xml_root};
/// let login = xml_root("root", object(&[("username", string())], &[]));
/// assert_eq!(serde_json::to_value(&login).unwrap()["xml"]["name"], "root");
/// ```
pub fn xml_root(root: &str, schema: Schema) -> Schema {
    let xml = Some(XmlBuilder::new().name(Some(root.to_owned())).build());
    match schema {
        Schema::Object(mut object) => {
            object.xml = xml;
            Schema::Object(object)
        }
        Schema::Array(mut array) => {
            array.xml = xml;
            Schema::Array(array)
        }
        other => other,
    }
}

/// `schema` (a scalar) written as an XML attribute of its parent element, not a child.
///
/// ```
/// use authmount::openapi::schema::{string, xml_attribute};
/// assert_eq!(serde_json::to_value(xml_attribute(string())).unwrap()["xml"]["attribute"], true);
/// ```
pub fn xml_attribute(schema: Schema) -> Schema {
    match schema {
        Schema::Object(mut object) => {
            object.xml = Some(XmlBuilder::new().attribute(Some(true)).build());
            Schema::Object(object)
        }
        other => other,
    }
}
