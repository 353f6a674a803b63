"""The DAG the `airflow` action tests drive (loaded by the Airflow 3 and the Airflow 2 that
`.ci/run` starts: the imports fall back to Airflow 2's names).

Three tasks in a line, no schedule: runs are created only by the tests (`trigger`), and no
scheduler runs, so their task instances keep the states the tests give them.
"""

from datetime import datetime

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2: no Task SDK
    from airflow import DAG
    from airflow.operators.empty import EmptyOperator

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
