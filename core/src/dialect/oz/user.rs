//! The session object's `user`, from the core fields and the Oz attributes.

use serde_json::{Value, json};

use super::OzConfig;
use crate::user::User;

/// A string attribute, numbers given as strings.
fn text_attribute(user: &User, key: &str) -> Value {
    match user.attribute(key) {
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(Value::Number(n)) => Value::String(n.to_string()),
        _ => Value::Null,
    }
}

/// The session object's `user` (see the [module docs](super) for the sources).
///
/// ```
/// use authmount::dialect::oz::{OzConfig, user_object};
/// use authmount::user::{NewUser, User, UserId};
/// let new = NewUser::new("ann", std::time::SystemTime::UNIX_EPOCH)
///     .with_attribute("company_id", "c-1")
///     .with_attribute("oz_can_start_analyse_quality", false);
/// let user = user_object(&User::from_new(UserId(7), new), &OzConfig::default());
/// assert_eq!(user["user_id"], "7");
/// assert_eq!(user["user_type"], "user");
/// assert_eq!(user["company_id"], "c-1");
/// assert_eq!(user["can_start_analyse_quality"], false);
/// assert_eq!(user["can_start_analyse_biometry"], true);
/// ```
pub fn user_object(user: &User, config: &OzConfig) -> Value {
    let object =
        |key: &str| user.attribute(key).filter(|v| v.is_object()).cloned().unwrap_or_else(|| json!({}));
    let can = |what: &str| {
        user.attribute(&format!("oz_can_start_analyse_{what}"))
            .and_then(Value::as_bool)
            .unwrap_or(config.can_start_analyse_default)
    };
    let user_type = match user.attribute("oz_user_type").and_then(Value::as_str) {
        Some(kind) => kind.to_owned(),
        None if user.is_admin || user.is_superuser => "admin".to_owned(),
        None => "user".to_owned(),
    };
    json!({
        "technical_meta_data": object("oz_technical_meta_data"),
        "meta_data": object("oz_meta_data"),
        "user_id": user.id.to_string(),
        "user_type": user_type,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "middle_name": user.attribute("middle_name").and_then(Value::as_str),
        "email": user.email,
        "is_active": user.is_active,
        "can_start_analyse_biometry": can("biometry"),
        "can_start_analyse_collection": can("collection"),
        "can_start_analyse_documents": can("documents"),
        "can_start_analyse_quality": can("quality"),
        "company_id": text_attribute(user, "company_id"),
    })
}
