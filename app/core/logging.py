"""Logging with the request id on every line."""

from __future__ import annotations

import logging
import logging.config


def configure_logging(level: str = "INFO") -> None:
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "asgi_correlation_id.CorrelationIdFilter",
                                   "default_value": "-"}},
        "formatters": {"default": {
            "format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                                 "formatter": "default"}},
        "root": {"handlers": ["console"], "level": level.upper()},
        "loggers": {"uvicorn.access": {"handlers": ["console"], "level": "WARNING",
                                       "propagate": False}},
    })
