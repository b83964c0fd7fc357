//! [`DeviceInfo`]: the device a session was opened from, from the login body or the headers.

use http::HeaderName;
use http::header::{ACCEPT_LANGUAGE, USER_AGENT};
use serde_json::{Map, Value};

/// Longest device-info value derived from headers.
const MAX_DERIVED_CHARS: usize = 128;

/// The device a session was opened from, as the session object's `device_info` carries it.
///
/// From the login body's `device_info` object when sent (each value a string or `null`;
/// unknown keys ignored), else [`from_headers`](Self::from_headers), else all `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `device_family`, e.g. `PostmanRuntime` or `iPhone`.
    pub device_family: Option<String>,
    /// `device_platform`, e.g. `ios`.
    pub device_platform: Option<String>,
    /// `device_os`, e.g. `iOS 17.1`.
    pub device_os: Option<String>,
    /// `app_version`.
    pub app_version: Option<String>,
    /// `app_build`.
    pub app_build: Option<String>,
    /// `device_locale`, e.g. `en-US`.
    pub device_locale: Option<String>,
    /// `sdk_version`.
    pub sdk_version: Option<String>,
    /// `sdk_build`.
    pub sdk_build: Option<String>,
    /// `bundle_id`.
    pub bundle_id: Option<String>,
}

/// The keys of `device_info`, in the seed's order.
pub const DEVICE_INFO_KEYS: [&str; 9] = [
    "device_family",
    "device_platform",
    "device_os",
    "app_version",
    "app_build",
    "device_locale",
    "sdk_version",
    "sdk_build",
    "bundle_id",
];

impl DeviceInfo {
    fn slots(&mut self) -> [&mut Option<String>; 9] {
        [
            &mut self.device_family,
            &mut self.device_platform,
            &mut self.device_os,
            &mut self.app_version,
            &mut self.app_build,
            &mut self.device_locale,
            &mut self.sdk_version,
            &mut self.sdk_build,
            &mut self.bundle_id,
        ]
    }

    /// Reads a `device_info` object: each known key a string or `null` (absent: `null`), other
    /// keys ignored. `Err` lists the keys of the wrong type.
    ///
    /// ```
    /// use authmount::dialect::oz::DeviceInfo;
    /// let info = DeviceInfo::from_object(serde_json::json!({"app_version": "1.2", "x": 1}).as_object().unwrap()).unwrap();
    /// assert_eq!(info.app_version.as_deref(), Some("1.2"));
    /// let wrong = DeviceInfo::from_object(serde_json::json!({"app_build": 7}).as_object().unwrap());
    /// assert_eq!(wrong.unwrap_err(), vec!["app_build"]);
    /// ```
    pub fn from_object(object: &Map<String, Value>) -> Result<Self, Vec<&'static str>> {
        let mut info = Self::default();
        let mut wrong = Vec::new();
        for (key, slot) in DEVICE_INFO_KEYS.into_iter().zip(info.slots()) {
            match object.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::String(value)) => *slot = Some(value.clone()),
                Some(_) => wrong.push(key),
            }
        }
        if wrong.is_empty() { Ok(info) } else { Err(wrong) }
    }

    /// Derives what the headers tell: `User-Agent`'s first product gives `device_family` and
    /// `app_version` (`PostmanRuntime/7.15.2`), its first comment `device_os`
    /// (`Mozilla/5.0 (Windows NT 10.0; Win64)` → `Windows NT 10.0`); `Accept-Language`'s first
    /// language gives `device_locale`. Values are cut to 128 characters.
    ///
    /// ```
    /// use authmount::dialect::oz::DeviceInfo;
    /// let head = http::Request::get("/")
    ///     .header("user-agent", "PostmanRuntime/7.15.2")
    ///     .header("accept-language", "de-CH, de;q=0.9")
    ///     .body(()).unwrap().into_parts().0;
    /// let info = DeviceInfo::from_headers(&head.headers);
    /// assert_eq!(info.device_family.as_deref(), Some("PostmanRuntime"));
    /// assert_eq!(info.app_version.as_deref(), Some("7.15.2"));
    /// assert_eq!(info.device_locale.as_deref(), Some("de-CH"));
    /// assert_eq!(info.device_os, None);
    /// ```
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        let text = |name: HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let mut info = Self::default();
        if let Some(agent) = text(USER_AGENT).filter(|a| !a.is_empty()) {
            let (product, rest) = agent.split_once(char::is_whitespace).unwrap_or((agent, ""));
            let (name, version) = product.split_once('/').unwrap_or((product, ""));
            info.device_family = derived(name);
            info.app_version = derived(version);
            if let Some(comment) = rest.trim_start().strip_prefix('(') {
                let comment = comment.split(')').next().unwrap_or_default();
                info.device_os = derived(comment.split(';').next().unwrap_or_default());
            }
        }
        if let Some(languages) = text(ACCEPT_LANGUAGE) {
            let first = languages.split(',').next().unwrap_or_default();
            let tag = first.split(';').next().unwrap_or_default();
            if tag.trim() != "*" {
                info.device_locale = derived(tag);
            }
        }
        info
    }

    /// The `device_info` object, every key present, in the seed's order.
    pub fn to_value(&self) -> Value {
        let mut copy = self.clone();
        let mut map = Map::new();
        for (key, slot) in DEVICE_INFO_KEYS.into_iter().zip(copy.slots()) {
            map.insert(key.to_owned(), slot.take().map_or(Value::Null, Value::String));
        }
        Value::Object(map)
    }

    /// Reads back what [`to_value`](Self::to_value) wrote (wrongly typed values: `null`).
    pub(super) fn from_stored(value: Option<&Value>) -> Self {
        let mut info = Self::default();
        if let Some(object) = value.and_then(Value::as_object) {
            for (key, slot) in DEVICE_INFO_KEYS.into_iter().zip(info.slots()) {
                *slot = object.get(key).and_then(Value::as_str).map(str::to_owned);
            }
        }
        info
    }
}

/// A header-derived value: trimmed, at most [`MAX_DERIVED_CHARS`], `None` when empty.
fn derived(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(MAX_DERIVED_CHARS).collect())
}
