//! The url backend against a real server: only querylab_* databases are touched.
use crate::common;

#[tokio::test]
async fn url_backend_creates_and_drops_only_its_own_databases() {
    let server = common::server().await;
    let name = format!("{}_probe", server.run_prefix());
    server.create_database(&name, None).await.unwrap();
    let c = server.connect(&name).await.unwrap();
    let wm: String = c.query_one("SHOW work_mem", &[]).await.unwrap().get(0);
    assert_eq!(wm, "16MB", "per-database settings are applied");
    drop(c);
    assert!(server.drop_database("postgres").await.is_err());
    assert!(server.create_database("postgres2", None).await.is_err());
    server.drop_database(&name).await.unwrap();
    let admin = server.admin().await.unwrap();
    let n: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    server.shutdown().await.unwrap();
}
