//! Outside authentication: the host application signs its users in by its own means
//! (single sign-on, its session cookie, ...) and asks helpdesk for a verified principal to
//! act as them in the library, and for tokens to hand to its front end for helpdesk's
//! HTTP API and WebSocket. No helpdesk login, no password check.
//!
//! `cargo run -p helpdesk --example sso`

use std::sync::Arc;

use helpdesk::store::memory::MemoryStore;
use helpdesk::ticket::NewTicket;
use helpdesk::user::NewUser;
use helpdesk::{Config, Helpdesk, Principal, Role};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::for_tests());

    // The host keeps a mapping from its own accounts to helpdesk users; here the user
    // is provisioned once. (Helpdesk still asks for a password at creation: a random
    // one that nobody knows, since this user never logs in to helpdesk directly.)
    let random_password = helpdesk::uuid::Uuid::now_v7().to_string();
    let dana = hd
        .create_user(
            &Principal::system(),
            NewUser::new("dana@example.com", "Dana", Role::Customer, &random_password),
        )
        .await?;

    // Later, on a request the host authenticated: act as Dana with the role the store
    // holds now (a deactivated user gets `Unauthorized`).
    let dana_p = hd.principal(dana.id).await?;
    let ticket = hd
        .create_ticket(&dana_p, NewTicket::new("VPN down", "Since 9am"))
        .await?;
    println!("ticket #{} opened as {}", ticket.number, dana.email);

    // And tokens for the front end: `Authorization: Bearer <access>` on the API,
    // `?token=<access>` on the WebSocket, the refresh token to rotate them.
    let tokens = hd.issue_tokens(dana.id).await?;
    let back = hd.authenticate(&tokens.access_token).await?;
    assert_eq!(back.user_id(), dana.id);
    println!(
        "access token for {} ({} s): {}...",
        tokens.user.email,
        tokens.expires_in,
        &tokens.access_token[..24]
    );
    Ok(())
}
