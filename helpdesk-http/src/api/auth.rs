//! `/api/auth`: signup, login (with failed-login rate limiting), refresh, logout.

use helpdesk_core::Error;
use helpdesk_core::auth::{AuthTokens, Signup};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::render::user_json;
use crate::request::Ctx;
use crate::response::{created, json as json_resp, no_content};

#[derive(Deserialize)]
struct SignupBody {
    email: String,
    password: String,
    name: String,
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

fn tokens_json(t: &AuthTokens) -> Value {
    let me = t.principal();
    json!({
        "user": user_json(&t.user, &me),
        "access_token": t.access_token,
        "refresh_token": t.refresh_token,
        "token_type": t.token_type,
        "expires_in": t.expires_in,
    })
}

/// `POST /api/auth/signup`.
pub async fn signup(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    if !ctx.state.hd.config().signup_open {
        return Err(ApiError::forbidden("signup is closed"));
    }
    let b: SignupBody = body.parse(&["email", "password", "name"])?;
    let signup = Signup {
        email: b.email,
        password: b.password,
        name: b.name,
    };
    let tokens = ctx
        .state
        .hd
        .signup_from(Some(ctx.client_ip), signup)
        .await?;
    Ok(created(
        &ctx.state.api_path(&format!("/users/{}", tokens.user.id)),
        tokens_json(&tokens),
    ))
}

/// `POST /api/auth/login`: 429 with `Retry-After` when the failed-login limits are
/// reached (the password is then not checked).
pub async fn login(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let b: LoginBody = body.parse(&["email", "password"])?;
    let hd = &ctx.state.hd;
    match hd
        .login_from(Some(ctx.client_ip), &b.email, &b.password)
        .await
    {
        Ok(tokens) => Ok(json_resp(StatusCode::OK, &tokens_json(&tokens))),
        Err(Error::Unauthorized) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "wrong email or password",
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/auth/refresh`: a new pair; the old refresh token stops working.
pub async fn refresh(mut ctx: Ctx) -> ApiResult {
    let body = ctx.json().await?;
    let b: RefreshBody = body.parse(&["refresh_token"])?;
    let tokens = ctx.state.hd.refresh(&b.refresh_token).await?;
    Ok(json_resp(StatusCode::OK, &tokens_json(&tokens)))
}

/// `POST /api/auth/logout`: ends the token's session. No body needed.
pub async fn logout(ctx: Ctx) -> ApiResult {
    let p = ctx.principal().await?;
    ctx.state.hd.logout(&p).await?;
    ctx.state.hub.recheck_user(p.user_id());
    Ok(no_content())
}
