//! The methods of the skills extension, and the skill files in `resources/read` and
//! `resources/list`.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::SkillFile;
use crate::protocol::{Encoded, ErrorObject, JsonObject, ListParams, RequestId, ResourceContents};
use crate::server::dispatch::session::{Page, Session, parse_optional_params, parse_params};

#[derive(Deserialize)]
struct UriParams {
    uri: String,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(rename = "_meta", default)]
    #[allow(dead_code)]
    meta: Option<JsonObject>,
}

#[derive(Serialize)]
struct GetSkillResult<'a> {
    skill: &'a RawValue,
}

#[derive(Serialize)]
struct ReadResult {
    contents: Vec<ResourceContents>,
}

fn unknown(uri: &str, message: String) -> ErrorObject {
    ErrorObject::invalid_params(message).with_data(serde_json::json!({ "uri": uri }))
}

impl SkillFile {
    fn contents(&self) -> ResourceContents {
        match std::str::from_utf8(&self.bytes) {
            Ok(text) if !self.mime_type.starts_with("image/") => ResourceContents::Text {
                uri: self.uri.clone(),
                mime_type: Some(self.mime_type.into()),
                text: text.to_string(),
            },
            _ => ResourceContents::Blob {
                uri: self.uri.clone(),
                mime_type: Some(self.mime_type.into()),
                blob: crate::protocol::base64::encode(&self.bytes),
            },
        }
    }
}

impl Session {
    /// `skills/list`, `skills/get` and `resources/directory/read`, on a server that serves
    /// skills.
    pub(crate) fn skills_method(
        &self,
        id: &RequestId,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<Encoded, ErrorObject> {
        let Some(skills) = self.core.skills.as_ref() else {
            return Err(ErrorObject::method_not_found(method));
        };
        let set = skills.current();
        match method {
            "skills/list" => {
                let p: ListParams = parse_optional_params(params)?;
                let page =
                    self.page_with(p.cursor.as_deref(), "skills", set.skills.len(), |i| {
                        &set.skills[i].entry
                    })?;
                Ok(Encoded::result(id, &page))
            }
            "skills/get" => {
                let p: UriParams = parse_params(params)?;
                let skill = set.skill(&p.uri).ok_or_else(|| {
                    unknown(
                        &p.uri,
                        format!(
                            "Unknown skill: `{}` is not the SKILL.md URI of a skill this server serves (see skills/list)",
                            p.uri
                        ),
                    )
                })?;
                Ok(self.wire().result(
                    id,
                    &GetSkillResult {
                        skill: &skill.entry,
                    },
                ))
            }
            _ => {
                let p: UriParams = parse_params(params)?;
                let Some(children) = set.directory(&p.uri) else {
                    let what = if set.file(&p.uri).is_some() {
                        "is a file, not a directory"
                    } else {
                        "is not a directory this server serves"
                    };
                    return Err(unknown(
                        &p.uri,
                        format!("Invalid params: `{}` {what}", p.uri),
                    ));
                };
                let page =
                    self.page_with(p.cursor.as_deref(), "resources", children.len(), |i| {
                        &children[i].0
                    })?;
                Ok(Encoded::result(id, &page))
            }
        }
    }

    /// The `resources/read` result of a skill file, if `uri` is one.
    pub(crate) fn read_skill_file(&self, id: &RequestId, uri: &str) -> Option<Encoded> {
        let set = self.core.skills.as_ref()?.current();
        let file = set.file(uri)?;
        Some(self.wire().result(
            id,
            &ReadResult {
                contents: vec![file.contents()],
            },
        ))
    }

    /// `resources/list` with the `SKILL.md` of every skill after the registered resources.
    pub(crate) fn list_resources_and_skills(
        &self,
        params: Option<&RawValue>,
    ) -> Result<Page, ErrorObject> {
        let table = self.core.resources.load();
        let live = table.live();
        let version = self.protocol_version();
        let Some(skills) = self.core.skills.as_ref() else {
            return self.page(params, "resources", live, |e, v| e.listing(v));
        };
        let set = skills.current();
        let p: ListParams = parse_optional_params(params)?;
        self.page_with(
            p.cursor.as_deref(),
            "resources",
            live.len() + set.skills.len(),
            |i| match live.get(i) {
                Some(e) => e.listing(version),
                None => &set.skills[i - live.len()].listing,
            },
        )
    }
}
