//! Request validation in Oz's terms: field problems with codes 3, 4 and 5, and the login body.

use http::StatusCode;
use serde_json::{Map, Value};

use super::error::error_response;
use super::{DEVICE_INFO, DeviceInfo, ErrorCode, Inner};
use crate::api::Refusal;

/// A refused request: status, code, message, details.
pub(super) struct Failure {
    status: StatusCode,
    code: ErrorCode,
    message: &'static str,
    details: Option<Value>,
}

/// A failure is answered as it is, in Oz's shape.
impl From<Failure> for Refusal {
    fn from(failure: Failure) -> Self {
        Refusal::Shaped(error_response(failure.status, failure.code, failure.message, failure.details))
    }
}

impl Failure {
    pub(super) fn new(status: StatusCode, code: ErrorCode, message: &'static str) -> Self {
        Self { status, code, message, details: None }
    }

    pub(super) fn invalid_token(message: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::AuthInvalid, message)
    }
}

/// Field problems of a request body, collected in order.
#[derive(Default)]
pub(super) struct Problems {
    details: Map<String, Value>,
    worst: Option<ErrorCode>,
}

impl Problems {
    pub(super) fn add(&mut self, field: &str, code: ErrorCode, message: &str) {
        self.details.insert(field.to_owned(), Value::String(message.to_owned()));
        let rank = |c: ErrorCode| match c {
            ErrorCode::InvalidStructure => 3,
            ErrorCode::InvalidType => 2,
            _ => 1,
        };
        if self.worst.is_none_or(|worst| rank(code) > rank(worst)) {
            self.worst = Some(code);
        }
    }

    /// A required string: trimmed unless `trim` is off; missing 3, not a string 5, blank 4.
    pub(super) fn string(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        path: &str,
        trim: bool,
    ) -> Option<String> {
        match object.get(key) {
            None => self.add(path, ErrorCode::InvalidStructure, "required"),
            Some(Value::String(value)) => {
                let value = if trim { value.trim() } else { value.as_str() };
                if value.is_empty() {
                    self.add(path, ErrorCode::InvalidValue, "must not be blank");
                } else {
                    return Some(value.to_owned());
                }
            }
            Some(_) => self.add(path, ErrorCode::InvalidType, "must be a string"),
        }
        None
    }

    pub(super) fn finish(self) -> Result<(), Failure> {
        let Some(code) = self.worst else { return Ok(()) };
        let message = match code {
            ErrorCode::InvalidStructure => "Invalid request structure",
            ErrorCode::InvalidType => "Invalid parameter type",
            _ => "Invalid parameter value",
        };
        Err(Failure {
            status: StatusCode::BAD_REQUEST,
            code,
            message,
            details: Some(Value::Object(self.details)),
        })
    }
}

/// What the login body holds.
pub(super) struct Credentials {
    pub(super) login: String,
    pub(super) password: String,
    pub(super) device: Option<DeviceInfo>,
}

impl Inner {
    pub(super) fn credentials(body: &Map<String, Value>) -> Result<Credentials, Failure> {
        let mut problems = Problems::default();
        let mut credentials = None;
        match body.get("credentials") {
            None => problems.add("credentials", ErrorCode::InvalidStructure, "required"),
            Some(Value::Object(object)) => {
                let login = problems.string(object, "email", "credentials.email", true);
                let password = problems.string(object, "password", "credentials.password", false);
                credentials = login.zip(password);
            }
            Some(_) => problems.add("credentials", ErrorCode::InvalidStructure, "must be an object"),
        }
        let device = match body.get(DEVICE_INFO) {
            None | Some(Value::Null) => None,
            Some(Value::Object(object)) => match DeviceInfo::from_object(object) {
                Ok(info) => Some(info),
                Err(wrong) => {
                    for key in wrong {
                        problems.add(
                            &format!("device_info.{key}"),
                            ErrorCode::InvalidType,
                            "must be a string or null",
                        );
                    }
                    None
                }
            },
            Some(_) => {
                problems.add(DEVICE_INFO, ErrorCode::InvalidType, "must be an object");
                None
            }
        };
        problems.finish()?;
        let (login, password) = credentials.ok_or_else(|| {
            Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Unknown,
                "Unknown server side error occurred",
            )
        })?;
        Ok(Credentials { login, password, device })
    }
}
