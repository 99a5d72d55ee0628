//! Reading resources: unpacking a read into the function's parameters, and what a read may
//! return.

use std::any::Any;
use std::fmt::{self, Display, Write as _};

use serde::Serialize;

use crate::protocol::{ResourceContents, base64};
use crate::server::context::Context;
use crate::server::handlers::call::{ArgSpec, Extraction, LazyContext, RequestParts};
use crate::server::handlers::text::Text;
use crate::server::registration::ResourceEntry;
use crate::server::registration::resource::ResourceFuture;
use crate::server::uri_template::{Bindings, VarValue};

/// A resource read being unpacked into the function's parameters.
pub struct ResourceRead<'a> {
    pub(crate) entry: &'a ResourceEntry,
    uri: String,
    bindings: Bindings,
    context: LazyContext,
    problems: Vec<String>,
    /// Extractors that failed: the server's fault, not the URI's.
    faults: Vec<String>,
}

impl<'a> ResourceRead<'a> {
    pub(crate) fn new(
        entry: &'a ResourceEntry,
        uri: String,
        bindings: Bindings,
        request: RequestParts,
    ) -> Self {
        ResourceRead {
            entry,
            uri,
            bindings,
            context: LazyContext::new(request),
            problems: Vec::new(),
            faults: Vec::new(),
        }
    }

    /// The URI being read.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The value of a template variable, converted to the parameter's type.
    pub fn variable<T: TemplateVariable>(
        &mut self,
        spec: &ArgSpec,
        default: Option<fn() -> T>,
    ) -> Option<T> {
        if let Some(problem) = self.unsafe_variable::<T>(spec.name) {
            self.problems.push(problem);
            return None;
        }
        let text = match self.bindings.iter().find(|(n, _)| n == spec.name) {
            Some((_, VarValue::One(s))) => Text::One(s),
            Some((_, VarValue::List(l))) => Text::List(l),
            None => match default {
                Some(d) => return Some(d()),
                None => Text::Absent,
            },
        };
        match text.parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems
                    .push(format!("template variable `{}`: {e}", spec.name));
                None
            }
        }
    }

    /// Why the value of variable `name` is refused, for a `T` that does not opt out: a `/`,
    /// `\`, NUL or `..` decoded in an expansion of one segment.
    fn unsafe_variable<T: TemplateVariable>(&self, name: &str) -> Option<String> {
        use crate::server::handlers::template_values::{is_checked, opts_out, unsafe_value};
        let operator = self.entry.template.as_ref()?.operator_of(name)?;
        if !is_checked(operator) {
            return None;
        }
        let values: &[String] = match self.bindings.iter().find(|(n, _)| n == name)? {
            (_, VarValue::One(s)) => std::slice::from_ref(s),
            (_, VarValue::List(l)) => l,
        };
        let what = values.iter().find_map(|v| unsafe_value(v))?;
        if opts_out::<T>() {
            return None;
        }
        Some(format!(
            "template variable `{name}`: the decoded value contains {what}, which this variable \
             does not accept"
        ))
    }

    /// Called once every parameter was built: `Some` ends the read with an error naming every
    /// variable that could not be used.
    pub fn finish(&mut self) -> Option<ResourceFuture> {
        if !self.faults.is_empty() {
            let text = format!(
                "resource `{}` could not be read: {}",
                self.uri,
                self.faults.join("; ")
            );
            tracing::error!(uri = %self.uri.escape_debug(), "{text}");
            return Some(ResourceFuture::ready(Err(ResourceError::new(text))));
        }
        if self.problems.is_empty() {
            return None;
        }
        let mut text = format!("Invalid URI `{}`:", crate::escape::Escaped(&self.uri));
        for p in &self.problems {
            let _ = write!(text, " {p};");
        }
        text.pop();
        Some(ResourceFuture::ready(Err(ResourceError::invalid(text))))
    }

    /// The error when a parameter could not be built (already recorded).
    pub fn invalid(&mut self) -> ResourceFuture {
        self.finish().unwrap_or_else(|| {
            ResourceFuture::ready(Err(ResourceError::invalid(format!(
                "Invalid URI `{}`",
                crate::escape::Escaped(&self.uri)
            ))))
        })
    }

    /// Where the contents go: the URI and the declared MIME type.
    pub fn target(&self) -> ResourceTarget {
        ResourceTarget {
            uri: self.uri.clone(),
            mime_type: self.entry.def.mime_type,
        }
    }
}

impl Extraction for ResourceRead<'_> {
    fn context(&mut self) -> &Context {
        self.context.get()
    }

    fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    fn fault(&mut self, message: String) {
        self.faults.push(message);
    }
}

/// The URI and MIME type the contents of a read are labelled with.
#[derive(Debug, Clone)]
pub struct ResourceTarget {
    /// The URI read.
    pub uri: String,
    /// The MIME type declared on the resource, if any.
    pub mime_type: Option<&'static str>,
}

impl ResourceTarget {
    /// Converts a read function's return value.
    pub fn convert<R: ResourceOutput>(
        &self,
        value: R,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        value.into_contents(self)
    }

    fn text(&self, text: String, default_mime: &str) -> Vec<ResourceContents> {
        vec![ResourceContents::Text {
            uri: self.uri.clone(),
            mime_type: Some(self.mime_type.unwrap_or(default_mime).to_string()),
            text,
        }]
    }

    fn blob(&self, bytes: &[u8]) -> Vec<ResourceContents> {
        vec![ResourceContents::Blob {
            uri: self.uri.clone(),
            mime_type: Some(
                self.mime_type
                    .unwrap_or("application/octet-stream")
                    .to_string(),
            ),
            blob: base64::encode(bytes),
        }]
    }
}

/// A type that can be a template variable: it deserializes from the variable's text.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a URI template variable",
    label = "template variables are read from text",
    note = "a variable's type implements `serde::Deserialize`: numbers, `bool`, `String`, enums, `Vec<T>` for exploded `{{var*}}`, `Option<T>` for query variables that may be absent"
)]
pub trait TemplateVariable: serde::de::DeserializeOwned {}

impl<T: serde::de::DeserializeOwned> TemplateVariable for T {}

/// A parameter of a resource function that is not a template variable must be an extractor.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor, and the parameter is not a variable of the URI template",
    label = "not a template variable",
    note = "name the parameter after a variable of the URI template (`{{name}}`), or use an extractor such as `Context` (a type implementing `mcp_runtime::FromContext`)"
)]
pub trait ResourceExtractor: crate::server::handlers::call::FromContext {}

impl<T: crate::server::handlers::call::FromContext> ResourceExtractor for T {}

/// Builds a parameter of a resource function that is not a template variable.
pub fn resource_extractor<T: ResourceExtractor>(
    read: &mut ResourceRead<'_>,
    spec: &ArgSpec,
) -> Option<T> {
    crate::server::handlers::call::extract_context(read, spec)
}

/// JSON contents: the value serialized, labelled `application/json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

/// What a resource function may return.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a resource",
    note = "return `String` or `&'static str` (text), `Vec<u8>` or `Bytes` (binary), `Json<T>` (JSON text), `ResourceContents` or `Vec<ResourceContents>`, or a `Result` of those whose error implements `Display`"
)]
pub trait ResourceOutput {
    /// The MIME type listed when the resource declares none.
    const MIME_TYPE: Option<&'static str> = None;
    /// Converts the value into contents labelled with the target's URI.
    fn into_contents(self, target: &ResourceTarget)
    -> Result<Vec<ResourceContents>, ResourceError>;
}

impl ResourceOutput for String {
    const MIME_TYPE: Option<&'static str> = Some("text/plain");
    fn into_contents(self, t: &ResourceTarget) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(t.text(self, "text/plain"))
    }
}

impl ResourceOutput for &'static str {
    const MIME_TYPE: Option<&'static str> = Some("text/plain");
    fn into_contents(self, t: &ResourceTarget) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(t.text(self.to_string(), "text/plain"))
    }
}

impl ResourceOutput for Vec<u8> {
    const MIME_TYPE: Option<&'static str> = Some("application/octet-stream");
    fn into_contents(self, t: &ResourceTarget) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(t.blob(&self))
    }
}

impl ResourceOutput for &'static [u8] {
    const MIME_TYPE: Option<&'static str> = Some("application/octet-stream");
    fn into_contents(self, t: &ResourceTarget) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(t.blob(self))
    }
}

impl ResourceOutput for bytes::Bytes {
    const MIME_TYPE: Option<&'static str> = Some("application/octet-stream");
    fn into_contents(self, t: &ResourceTarget) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(t.blob(&self))
    }
}

impl<T: Serialize> ResourceOutput for Json<T> {
    const MIME_TYPE: Option<&'static str> = Some("application/json");
    fn into_contents(self, t: &ResourceTarget) -> Result<Vec<ResourceContents>, ResourceError> {
        let text = serde_json::to_string_pretty(&self.0).map_err(|e| {
            ResourceError::new(format!(
                "the contents of `{}` could not be serialized: {e}",
                t.uri
            ))
        })?;
        Ok(t.text(text, "application/json"))
    }
}

impl ResourceOutput for ResourceContents {
    fn into_contents(self, _: &ResourceTarget) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(vec![self])
    }
}

impl ResourceOutput for Vec<ResourceContents> {
    fn into_contents(self, _: &ResourceTarget) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(self)
    }
}

impl<T: ResourceOutput, E: Display + 'static> ResourceOutput for Result<T, E> {
    const MIME_TYPE: Option<&'static str> = T::MIME_TYPE;
    fn into_contents(self, t: &ResourceTarget) -> Result<Vec<ResourceContents>, ResourceError> {
        match self {
            Ok(v) => v.into_contents(t),
            Err(e) => Err(match (&e as &dyn Any).downcast_ref::<ResourceError>() {
                Some(r) => r.clone(),
                None => ResourceError::new(format!("{e:#}")),
            }),
        }
    }
}

/// Why a read failed; it becomes the request's error.
///
/// Any `std::error::Error` converts into it with `?` (an internal error with its message);
/// [`ResourceError::not_found`] is the protocol's "resource not found".
#[derive(Clone)]
pub struct ResourceError {
    pub(crate) kind: ResourceErrorKind,
    pub(crate) message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResourceErrorKind {
    NotFound,
    Invalid,
    Internal,
}

impl ResourceError {
    /// An internal error with this message.
    pub fn new(message: impl Display) -> Self {
        ResourceError {
            kind: ResourceErrorKind::Internal,
            message: message.to_string(),
        }
    }

    /// There is no resource at this URI.
    pub fn not_found(uri: impl Display) -> Self {
        ResourceError {
            kind: ResourceErrorKind::NotFound,
            message: format!("Resource not found: {uri}"),
        }
    }

    /// The URI is not one the resource accepts (invalid params).
    pub fn invalid(message: impl Display) -> Self {
        ResourceError {
            kind: ResourceErrorKind::Invalid,
            message: message.to_string(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error> From<E> for ResourceError {
    fn from(e: E) -> Self {
        ResourceError::new(crate::server::handlers::call::ToolError::from(e))
    }
}

/// A resource read from a tool with [`Context::read_resource`](crate::Context::read_resource)
/// fails the tool with the read's message.
impl From<ResourceError> for crate::server::handlers::call::ToolError {
    fn from(e: ResourceError) -> Self {
        crate::server::handlers::call::ToolError::new(e.message)
    }
}

impl Display for ResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for ResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceError({:?}, {:?})", self.kind, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(mime: Option<&'static str>) -> ResourceTarget {
        ResourceTarget {
            uri: "x://a".into(),
            mime_type: mime,
        }
    }

    #[test]
    fn returns_become_labelled_contents() {
        let t = target(None);
        assert_eq!(
            t.convert("hi").unwrap(),
            vec![ResourceContents::Text {
                uri: "x://a".into(),
                mime_type: Some("text/plain".into()),
                text: "hi".into()
            }]
        );
        let blob = t.convert(vec![1u8, 2, 3]).unwrap();
        assert!(
            matches!(&blob[0], ResourceContents::Blob { blob, mime_type, .. } if blob == "AQID" && mime_type.as_deref() == Some("application/octet-stream"))
        );
        let json = target(Some("application/vnd.x+json"))
            .convert(Json(serde_json::json!({"a": 1})))
            .unwrap();
        assert!(
            matches!(&json[0], ResourceContents::Text { mime_type, text, .. } if mime_type.as_deref() == Some("application/vnd.x+json") && text.contains("\"a\": 1"))
        );
    }

    #[test]
    fn errors_keep_their_kind() {
        let t = target(None);
        let r: Result<String, ResourceError> = Err(ResourceError::not_found("x://a"));
        assert_eq!(t.convert(r).unwrap_err().kind, ResourceErrorKind::NotFound);
        let r: Result<String, std::io::Error> = Err(std::io::Error::other("disk on fire"));
        let e = t.convert(r).unwrap_err();
        assert_eq!(e.kind, ResourceErrorKind::Internal);
        assert_eq!(e.message(), "disk on fire");
    }
}
