use std::path::Path;
use wafio_crs::engine::Engine;
use wafio_crs::ftw::{self, EngineRunner, StageRunner, UPSTREAM_TEST_SETUP};

fn main() {
    let dir = Path::new("/work/shared/crs");
    let engine = Engine::builder()
        .rules_before(UPSTREAM_TEST_SETUP)
        .crs_dir(dir)
        .build()
        .unwrap();
    let files = ftw::load_dir(&dir.join("tests/regression/tests")).unwrap();
    let runner = EngineRunner::new(&engine);
    for (_, f) in &files {
        for t in &f.tests {
            for (i, s) in t.stages.iter().enumerate() {
                let Ok(raw) = s
                    .input
                    .build_request(&format!("{}-{}", f.rule_id, t.test_id))
                else {
                    continue;
                };
                let o = runner.run_stage(&raw);
                let log: String = o
                    .log
                    .lines()
                    .map(|l| l.split(" [unique_id").next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n");
                println!(
                    "{}-{}-{} {} {:?} {}",
                    f.rule_id,
                    t.test_id,
                    i,
                    o.status,
                    o.fired,
                    log.len()
                );
                println!("{log}");
            }
        }
    }
}
