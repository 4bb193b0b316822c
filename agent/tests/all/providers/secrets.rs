//! The API key reaches the provider's header and nowhere else: not the clients' or the
//! configuration's `Debug`, not an error's message.

use serde_json::json;
use watsmith_agent::{
    Anthropic, ApiKey, ClientOptions, OpenAi, Provider, ProviderConfig, ProviderKind, connect,
};

use super::question;
use watsmith_test_support::wire::{Reply, Server, quick_retries};

const KEY: &str = "sk-live-0123456789abcdef";

#[tokio::test]
async fn the_key_is_sent_but_never_shown() {
    let server = Server::start(vec![
        Reply::Json(
            401,
            json!({ "error": { "message": "Incorrect API key provided" } }),
        ),
        Reply::Json(
            401,
            json!({ "type": "error", "error": { "type": "authentication_error" } }),
        ),
    ])
    .await;
    let mut options = server.options("/v1");
    options.api_key = Some(ApiKey::new(KEY));
    let openai = OpenAi::new(options.clone()).expect("a client");
    options.base_url = server.url("");
    let anthropic = Anthropic::new(options.clone()).expect("a client");

    let providers: [&dyn Provider; 2] = [&openai, &anthropic];
    for provider in providers {
        let error = provider
            .chat(&question(false), &|_| {})
            .await
            .expect_err("refused");
        assert!(
            matches!(
                error,
                watsmith_agent::ProviderError::Status { status: 401, .. }
            ),
            "{error:?}"
        );
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains(KEY), "{}: {shown}", provider.name());
        }
    }
    for shown in [
        format!("{openai:?}"),
        format!("{anthropic:?}"),
        format!("{options:?}"),
    ] {
        assert!(!shown.contains(KEY), "{shown}");
    }

    let received = server.received();
    assert_eq!(
        received[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(received[1].header("x-api-key"), Some(KEY));
}

#[tokio::test]
async fn a_transport_error_and_a_configuration_do_not_show_the_key() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let mut config = ProviderConfig::new(ProviderKind::OpenAi, "test-model");
    config.base_url = Some(format!("http://{address}/v1"));
    config.api_key = Some(ApiKey::new(KEY));
    config.retry = quick_retries(0);
    assert!(!format!("{config:?}").contains(KEY));

    let provider = connect(&config).expect("a client");
    let error = provider
        .chat(&question(false), &|_| {})
        .await
        .expect_err("nobody listens");
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains(KEY), "{shown}");
    }
    let options: ClientOptions = config.client_options();
    assert!(!format!("{options:?}").contains(KEY));
}
