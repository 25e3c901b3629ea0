"""The task-tracking contract, for scripts and other tools: `from gitbrag import tracking`.

The claims themselves live in the coordination layer (`gitbrag.coordination.tracking`); this
module is their public face, so the contract's import path stays put whatever the layout."""

from gitbrag.coordination.tracking import (
    Claim,
    TaskTracker,
    can_start_reported_user_task,
    complete_task,
    configure_tracking,
    get_reported_user_active_tasks,
    get_tracker,
    hash_params,
    holds_task,
    is_task_active,
    make_task_id,
    renew_task,
    start_task,
)

__all__ = [
    "Claim",
    "TaskTracker",
    "can_start_reported_user_task",
    "complete_task",
    "configure_tracking",
    "get_reported_user_active_tasks",
    "get_tracker",
    "hash_params",
    "holds_task",
    "is_task_active",
    "make_task_id",
    "renew_task",
    "start_task",
]
