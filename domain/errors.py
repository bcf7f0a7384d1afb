"""Domain exceptions, each with the stable error code the API answers with."""


class DomainError(Exception):
    """A command was refused by a rule; nothing was recorded."""

    code = "domain_rule"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotCompetentError(DomainError):
    code = "not_competent"


class UnknownReferenceError(DomainError):
    code = "unknown_reference"


class NotFoundError(DomainError):
    """A code named in the path does not exist (404, not 422)."""

    code = "not_found"


class AlreadyExistsError(DomainError):
    code = "already_exists"


class FrameNotBalancedError(DomainError):
    code = "frame_not_balanced"


class EarmarkViolationError(DomainError):
    code = "earmark_violation"


class NeedsCouncilDecisionError(DomainError):
    code = "needs_council_decision"


class BudgetAdoptedError(DomainError):
    code = "budget_adopted"


class InvalidCommandError(DomainError):
    """Well-formed input that contradicts itself or the state (e.g. a year outside the plan)."""

    code = "invalid_command"


class WithdrawnError(DomainError):
    code = "assignment_withdrawn"


class AlreadyRetractedError(DomainError):
    code = "already_retracted"


class ConcurrencyError(DomainError):
    """A concurrent change won too many times in a row; the client may retry."""

    code = "concurrent_change"
