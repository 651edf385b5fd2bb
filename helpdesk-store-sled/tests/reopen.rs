//! An embedding application that drops its `Helpdesk` can open the same sled database
//! again at once, in the same process: nothing the library started keeps the store.

use std::sync::Arc;

use helpdesk_core::ticket::NewTicket;
use helpdesk_core::ticket::TicketFilter;
use helpdesk_core::user::NewUser;
use helpdesk_core::{Config, Helpdesk, Principal, Role};
use helpdesk_store_sled::SledStore;

#[tokio::test]
async fn a_dropped_helpdesk_lets_go_of_its_store() {
    let dir = tempfile::tempdir().unwrap();
    let system = Principal::system();
    for round in 0..3 {
        let store = SledStore::open(dir.path()).expect("the database opens again at once");
        let hd = Helpdesk::new(Arc::new(store), Config::for_tests());
        let email = format!("user{round}@example.com");
        let user = hd
            .create_user(
                &system,
                NewUser::new(&email, "U", Role::Customer, "password-1"),
            )
            .await
            .unwrap();
        let me = hd.principal(user.id).await.unwrap();
        hd.create_ticket(&me, NewTicket::new("Kept", "Across reopenings"))
            .await
            .unwrap();
        let listed = hd
            .list_tickets(&system, TicketFilter::default())
            .await
            .unwrap();
        assert_eq!(listed.items.len(), round + 1);
        drop(hd);
        tokio::task::yield_now().await;
    }
}
