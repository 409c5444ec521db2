//! `bosun queue`: seed 000's TaskQueue.json, taken safely.

use serde_json::{Value, json};

use crate::support::{TestHome, code, output, stderr};

/// A bot folder under `BotScripts/{name}` whose bot.py runs `body`.
fn bot(home: &TestHome, name: &str, body: &str) -> String {
    home.write(&format!("BotScripts/{name}/bot.py"), body);
    format!("BotScripts/{name}")
}

fn task(id: &str, script: &str, created: &str) -> Value {
    json!({"TaskId": id, "ScriptPath": script, "PackageId": "p", "PackageName": "demo",
           "Version": "1.0.0", "Status": "Pending", "CreatedTime": created,
           "StartTime": null, "EndTime": null, "Pid": null, "ErrorMessage": null, "ExecutionId": format!("exec-{id}")})
}

fn write_queue(home: &TestHome, tasks: Vec<Value>) {
    let queue = json!({"Tasks": tasks, "LastUpdated": "2024-12-29T10:00:00Z", "AgentName": "kept"});
    home.write(
        "TaskQueue.json",
        &serde_json::to_string_pretty(&queue).unwrap(),
    );
}

fn read_queue(home: &TestHome) -> Value {
    serde_json::from_slice(&std::fs::read(home.path().join("TaskQueue.json")).unwrap()).unwrap()
}

#[test]
fn nothing_to_do_exits_1() {
    let home = TestHome::new();
    assert_eq!(code(&output(home.bosun().arg("queue"))), 1);
    write_queue(&home, vec![]);
    assert_eq!(code(&output(home.bosun().arg("queue"))), 1);
}

#[test]
fn the_oldest_pending_task_runs_and_is_recorded() {
    let home = TestHome::new();
    let older = bot(
        &home,
        "older",
        "import os\nopen('../ran.txt', 'a').write(os.environ['BOSUN_TASK_ID'] + '\\n')\n",
    );
    let newer = bot(&home, "newer", "raise SystemExit('should wait its turn')\n");
    write_queue(
        &home,
        vec![
            task("new", &newer, "2024-12-29T10:00:05Z"),
            task("old", &older, "2024-12-29T10:00:00Z"),
        ],
    );

    let out = output(home.bosun().arg("queue"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let queue = read_queue(&home);
    let done = &queue["Tasks"][1];
    assert_eq!(done["Status"], "Completed");
    assert!(done["Pid"].as_u64().is_some_and(|pid| pid > 0));
    assert!(done["StartTime"].is_string() && done["EndTime"].is_string());
    assert_eq!(done["ErrorMessage"], Value::Null);
    assert_eq!(queue["Tasks"][0]["Status"], "Pending");
    assert_eq!(queue["AgentName"], "kept", "unknown fields survive");
    assert_ne!(queue["LastUpdated"], "2024-12-29T10:00:00Z");
    assert_eq!(
        std::fs::read_to_string(home.path().join("BotScripts/ran.txt")).unwrap(),
        "old\n"
    );
}

#[test]
fn a_failing_bot_or_missing_folder_marks_the_task_failed_with_the_reason() {
    let home = TestHome::new();
    let failing = bot(
        &home,
        "failing",
        "import sys\nprint('cannot reach the portal', file=sys.stderr)\nsys.exit(4)\n",
    );
    write_queue(
        &home,
        vec![
            task("a", &failing, "2024-01-01T00:00:00Z"),
            task("b", "BotScripts/gone", "2024-01-02T00:00:00Z"),
        ],
    );

    assert_eq!(code(&output(home.bosun().arg("queue"))), 0);
    assert_eq!(code(&output(home.bosun().arg("queue"))), 0);

    let queue = read_queue(&home);
    assert_eq!(queue["Tasks"][0]["Status"], "Failed");
    let why = queue["Tasks"][0]["ErrorMessage"].as_str().unwrap();
    assert!(
        why.contains("code 4") && why.contains("cannot reach the portal"),
        "{why}"
    );
    assert_eq!(queue["Tasks"][1]["Status"], "Failed");
    assert!(
        queue["Tasks"][1]["ErrorMessage"]
            .as_str()
            .unwrap()
            .starts_with("Script path does not exist")
    );
}

#[test]
fn a_corrupt_queue_is_an_error_and_is_left_untouched() {
    let home = TestHome::new();
    let corrupt = "{\"Tasks\": [ {\"TaskId\": \"a\", \"Status\": \"Pending\" ";
    home.write("TaskQueue.json", corrupt);
    let out = output(home.bosun().arg("queue"));
    assert_eq!(code(&out), 255, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is corrupt and was left untouched"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(home.path().join("TaskQueue.json")).unwrap(),
        corrupt
    );
}

#[test]
fn two_queue_processes_never_run_the_same_task() {
    let home = TestHome::new();
    let body = "import os, time\nopen('../ran.txt', 'a').write(os.environ['BOSUN_TASK_ID'] + '\\n')\ntime.sleep(0.5)\n";
    let tasks = (0..4)
        .map(|i| {
            task(
                &format!("t{i}"),
                &bot(&home, &format!("b{i}"), body),
                &format!("2024-01-01T00:00:0{i}Z"),
            )
        })
        .collect();
    write_queue(&home, tasks);

    let codes: Vec<Vec<i32>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut codes = vec![];
                    loop {
                        let status = home
                            .bosun()
                            .arg("queue")
                            .stderr(std::process::Stdio::null())
                            .status();
                        let code = status.unwrap().code().unwrap();
                        codes.push(code);
                        if code != 0 {
                            return codes;
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let processed: usize = codes
        .iter()
        .map(|c| c.iter().filter(|&&c| c == 0).count())
        .sum();
    assert_eq!(processed, 4, "{codes:?}");
    let mut ran: Vec<String> = std::fs::read_to_string(home.path().join("BotScripts/ran.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    ran.sort();
    assert_eq!(ran, ["t0", "t1", "t2", "t3"], "each task ran exactly once");
    let queue = read_queue(&home);
    assert!(
        queue["Tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["Status"] == "Completed")
    );
}
