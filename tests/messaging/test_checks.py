from messaging.checks import check_webhook_credentials


def test_it_warns_when_the_app_secret_is_missing(settings):
    settings.WHATSAPP_APP_SECRETS = []

    assert [problem.id for problem in check_webhook_credentials(None)] == ["messaging.W001"]


def test_it_warns_when_the_verify_token_is_missing(settings):
    settings.WHATSAPP_VERIFY_TOKEN = ""

    assert [problem.id for problem in check_webhook_credentials(None)] == ["messaging.W002"]


def test_it_is_quiet_when_both_are_set(settings):
    assert check_webhook_credentials(None) == []
