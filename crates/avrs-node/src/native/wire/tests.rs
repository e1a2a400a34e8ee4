//! The control reader over a real QUIC stream: a message that arrives in
//! pieces survives reads cancelled in between.

use super::*;
use crate::native::client::{ClientOptions, dial};
use crate::native::tls;
use std::time::Duration;

/// A server endpoint on loopback and a client connection to it; returns
/// the server's end of the client's control stream once it has arrived,
/// and the client's sending half.
async fn control_stream() -> (quinn::Endpoint, quinn::Endpoint, RecvStream, SendStream) {
    let (config, _) = tls::server_config(None, None, tls::DEFAULT_MAX_MTU).unwrap();
    let server = quinn::Endpoint::server(config, ([127, 0, 0, 1], 0).into()).unwrap();
    let address = server.local_addr().unwrap();
    let options = ClientOptions::default();
    let accepted = async { server.accept().await.unwrap().await.unwrap() };
    let (dialled, accepted) = tokio::join!(dial(address, &options), accepted);
    let (client, conn) = dialled.unwrap();
    let (mut send, _) = conn.open_bi().await.unwrap();
    // A stream reaches the peer with its first byte.
    send.write_all(&quic::encode_message(SubType::Session, 0, b"first"))
        .await
        .unwrap();
    let (_, recv) = accepted.accept_bi().await.unwrap();
    (server, client, recv, send)
}

#[tokio::test]
async fn a_message_in_pieces_survives_cancelled_reads() {
    let (_server, _client, recv, mut send) = control_stream().await;
    let mut reader = ControlReader::new(recv);
    let first = reader.next().await.unwrap().expect("the first message");
    assert_eq!(&first.data[..], b"first");
    let message = quic::encode_message(SubType::Session, 1, b"split across writes");
    let writer = tokio::spawn(async move {
        for piece in message.chunks(3) {
            send.write_all(piece).await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        send.finish().unwrap();
        send
    });
    let mut cancelled = 0;
    let read = loop {
        tokio::select! {
            read = reader.next() => break read,
            _ = tokio::time::sleep(Duration::from_millis(1)) => cancelled += 1,
        }
    };
    let read = read.unwrap().expect("a message");
    assert!(
        cancelled > 0,
        "no read was cancelled: the test proves nothing"
    );
    assert_eq!(read.subtype, SubType::Session);
    assert_eq!(&read.data[..], b"split across writes");
    let _send = writer.await.unwrap();
    assert!(reader.next().await.unwrap().is_none(), "finished stream");
}
