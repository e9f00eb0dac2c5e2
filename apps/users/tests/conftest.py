import pytest

from tests.support.users import PASSWORD, StaffFactory, UserFactory


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def staff():
    return StaffFactory()


@pytest.fixture
def password():
    return PASSWORD
