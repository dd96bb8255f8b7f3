//! Amazon Connect's rest-json operations.

use serde_json::{Value, json};

use idfed_saml::Instant;
use idfed_saml::random::Random;

use crate::auth::Caller;
use crate::connect::{self, NewUser};
use crate::error::AwsError;
use crate::ids;
use crate::protocol::query::Params;
use crate::state::{ConnectInstance, ConnectUser, State};
use crate::sts::endpoints::Partition;

fn body_json(body: &[u8]) -> Result<Value, AwsError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|_| AwsError::sender(400, "SerializationException", "The request body is not valid JSON"))
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// One rest-json request, after SigV4.
pub struct Call<'a> {
    pub caller: &'a Caller,
    pub region: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    /// The URL's query string (`maxResults`, `nextToken`), without the `?`.
    pub query: &'a str,
    pub body: &'a [u8],
    pub now: Instant,
    pub rng: &'a dyn Random,
}

/// An error in the names Connect (a rest-json service) gives it: IAM's refusal is
/// `AccessDeniedException` there, and SigV4's failures have their JSON-protocol names; the
/// messages are the same as the Query services'.
pub fn json_protocol_error(mut e: AwsError) -> AwsError {
    let code = match e.code.as_str() {
        "AccessDenied" => "AccessDeniedException",
        "InvalidClientTokenId" => "UnrecognizedClientException",
        "SignatureDoesNotMatch" => "InvalidSignatureException",
        "ExpiredToken" => "ExpiredTokenException",
        "MissingAuthenticationToken" => "MissingAuthenticationTokenException",
        "IncompleteSignature" => "IncompleteSignatureException",
        _ => return e,
    };
    e.code = code.to_owned();
    e
}

/// Dispatches by method and path; answers the JSON body.
pub fn handle(state: &mut State, call: &Call) -> Result<Value, AwsError> {
    let Call { caller, region, method, path, query, body, now, rng } = *call;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let account = caller.account().to_owned();
    match (method, segments.as_slice()) {
        ("PUT", ["instance"]) => {
            let b = body_json(body)?;
            let identity = text(&b, "IdentityManagementType").unwrap_or_default();
            let alias = text(&b, "InstanceAlias").unwrap_or_default();
            let (id, arn) = connect::create_instance(state, &account, region, alias, identity, now, rng)?;
            Ok(json!({"Id": id, "Arn": arn}))
        }
        ("GET", ["instance"]) => {
            let all: Vec<&ConnectInstance> =
                state.connect_instances.values().filter(|i| i.account == account).collect();
            let (page, next) = Page::asked(query, 10, 10)?.of(&all);
            Ok(listed("InstanceSummaryList", page.iter().map(|i| instance_json(i)).collect(), next))
        }
        ("GET", ["instance", id]) => Ok(json!({"Instance": instance_json(connect::instance(state, &account, id)?)})),
        ("GET", ["security-profiles-summary", id]) => {
            let inst = connect::instance(state, &account, id)?;
            let list: Vec<Value> = inst
                .security_profiles
                .iter()
                .map(|(name, sid)| json!({"Id": sid, "Arn": format!("{}/security-profile/{sid}", inst.arn), "Name": name}))
                .collect();
            Ok(json!({"SecurityProfileSummaryList": list}))
        }
        ("PUT", ["users", id]) => {
            let b = body_json(body)?;
            let info = b.get("IdentityInfo").cloned().unwrap_or(json!({}));
            let profiles = b
                .get("SecurityProfileIds")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            let new = NewUser {
                username: text(&b, "Username").unwrap_or_default(),
                first_name: text(&info, "FirstName"),
                last_name: text(&info, "LastName"),
                email: text(&info, "Email"),
                password: text(&b, "Password"),
                security_profile_ids: profiles,
            };
            let (user_id, arn) = connect::create_user(state, &account, id, &new, rng)?;
            Ok(json!({"UserId": user_id, "UserArn": arn}))
        }
        ("GET", ["users-summary", id]) => {
            let inst = connect::instance(state, &account, id)?;
            let all: Vec<&ConnectUser> = inst.users.values().collect();
            let (page, next) = Page::asked(query, 100, 1000)?.of(&all);
            let list = page.iter().map(|u| json!({"Id": u.id, "Arn": u.arn, "Username": u.username})).collect();
            Ok(listed("UserSummaryList", list, next))
        }
        ("GET", ["users", id, user_id]) => {
            let inst = connect::instance(state, &account, id)?;
            let u = inst.users.get(*user_id).ok_or_else(|| {
                AwsError::sender(404, "ResourceNotFoundException", format!("User {user_id} not found"))
            })?;
            Ok(json!({"User": {"Id": u.id, "Arn": u.arn, "Username": u.username,
                "IdentityInfo": {"FirstName": u.first_name, "LastName": u.last_name},
                "PhoneConfig": {"PhoneType": "SOFT_PHONE"}, "SecurityProfileIds": u.security_profile_ids}}))
        }
        ("DELETE", ["users", id, user_id]) => {
            connect::instance(state, &account, id)?;
            let removed = state.connect_instances.get_mut(*id).and_then(|i| i.users.remove(*user_id));
            removed
                .map(|_| json!({}))
                .ok_or_else(|| AwsError::sender(404, "ResourceNotFoundException", format!("User {user_id} not found")))
        }
        ("GET", ["user", "federate", id]) => {
            let Caller::Session { access_key, .. } = caller else {
                return Err(AwsError::sender(
                    400,
                    "InvalidRequestException",
                    format!(
                        "Provided identity: Principal: {} User: {} cannot be used for federation with Amazon Connect",
                        caller.arn(),
                        caller.user_id()
                    ),
                ));
            };
            let session = state
                .sessions
                .get(access_key)
                .cloned()
                .ok_or_else(|| AwsError::sender(403, "AccessDeniedException", "unknown session"))?;
            let user = connect::federate(state, &session, id, now)?;
            let expires = now.plus_seconds(3600).unix_seconds();
            Ok(json!({
                "Credentials": {"AccessToken": ids::secret(rng), "AccessTokenExpiration": expires, "RefreshToken": ids::secret(rng), "RefreshTokenExpiration": now.plus_seconds(43_200).unix_seconds()},
                "SignInUrl": format!("/connect/federate/{id}"),
                "UserArn": user.arn,
                "UserId": user.id,
            }))
        }
        _ => {
            Err(AwsError::sender(404, "UnknownOperationException", format!("No Connect operation at {method} {path}")))
        }
    }
}

/// One page of a Connect list, as `?maxResults=&nextToken=` ask for it: Connect's lists are
/// paginated, at most `max` items a page and `default` when no size is asked.
struct Page {
    start: usize,
    size: usize,
}

/// The `nextToken` the sandbox hands out: opaque to clients, as AWS's are.
const TOKEN_PREFIX: &str = "idfed-page-";

impl Page {
    fn asked(query: &str, default: usize, max: usize) -> Result<Page, AwsError> {
        let params = Params::decode(&[query])?;
        let invalid = |message: String| AwsError::sender(400, "InvalidParameterException", message);
        let size = match params.get("maxResults") {
            None => default,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => n,
                Ok(n) if n > max => {
                    return Err(invalid(format!(
                        "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to {max}"
                    )));
                }
                _ => {
                    return Err(invalid(format!(
                        "1 validation error detected: Value '{text}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
                    )));
                }
            },
        };
        let start = match params.get("nextToken") {
            None => 0,
            Some(token) => token
                .strip_prefix(TOKEN_PREFIX)
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| invalid("The nextToken is not valid.".to_owned()))?,
        };
        Ok(Page { start, size })
    }

    /// This page of `all`, and the token for the next when there is one.
    fn of<'t, T>(&self, all: &'t [T]) -> (&'t [T], Option<String>) {
        let (page, next) = crate::api::page(all, self.start, self.size);
        (page, next.map(|n| format!("{TOKEN_PREFIX}{n}")))
    }
}

/// A list answer: `NextToken` only when there are more.
fn listed(key: &str, list: Vec<Value>, next: Option<String>) -> Value {
    let mut answer = json!({ key: list });
    if let (Some(token), Some(object)) = (next, answer.as_object_mut()) {
        object.insert("NextToken".to_owned(), Value::String(token));
    }
    answer
}

fn instance_json(i: &crate::state::ConnectInstance) -> Value {
    json!({
        "Id": i.id, "Arn": i.arn, "IdentityManagementType": i.identity_management_type, "InstanceAlias": i.alias,
        "CreatedTime": i.created.unix_seconds(), "ServiceRole": Partition::of_arn(&i.arn).arn("iam", "", &i.account, "role/aws-service-role/connect.amazonaws.com/AWSServiceRoleForAmazonConnect"),
        "InstanceStatus": "ACTIVE", "InboundCallsEnabled": true, "OutboundCallsEnabled": true,
        "InstanceAccessUrl": format!("https://{}.my.connect.aws/", i.alias),
    })
}
