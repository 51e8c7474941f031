from reservations.errors import DomainError, NotFound


class UnknownJob(NotFound):
    msgid = "没有这个定时任务。"


class JobFailed(DomainError):
    """The job ran and failed; its run, with what went wrong, is in the job history."""

    code = "job_failed"
    status = 503
    msgid = "任务运行失败，详情见定时任务记录。"
    # The run and its audit entry are kept.
    keeps_changes = True
