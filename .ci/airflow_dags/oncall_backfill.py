"""The DAG the `airflow` action tests drive (loaded by the Airflow that `.ci/run` starts).

Three tasks in a line, no schedule: runs are created only by the tests (`trigger`), and no
scheduler runs, so their task instances keep the states the tests give them.
"""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    "oncall_backfill",
    start_date=datetime(2000, 1, 1),
    schedule=None,
    catchup=False,
    is_paused_upon_creation=False,
) as dag:
    extract = EmptyOperator(task_id="extract")
    load = EmptyOperator(task_id="load")
    publish = EmptyOperator(task_id="publish")
    extract >> load >> publish
