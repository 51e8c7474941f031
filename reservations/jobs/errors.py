from reservations.errors import DomainError, NotFound


class UnknownJob(NotFound):
    message_zh = "没有这个定时任务。"
    message_en = "There is no such job."


class JobFailed(DomainError):
    """The job ran and failed; its run, with what went wrong, is in the job history."""

    code = "job_failed"
    status = 503
    message_zh = "任务运行失败，详情见定时任务记录。"
    message_en = "The job failed; see its run in the job history."
    # The run and its audit entry are kept.
    keeps_changes = True
