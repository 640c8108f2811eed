"""Auth API routes (`/api/v1/auth/...`): thin; the work is in service.py."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from signalos.auth import service
from signalos.auth.models import (
    ApiKeyCreatedOut,
    ApiKeyCreateIn,
    ApiKeyListOut,
    ApiKeyRevokedOut,
    ChangePasswordIn,
    ChangePasswordOut,
    DeviceListOut,
    DeviceRemovedOut,
    LicenseStatusOut,
    LoginIn,
    LogoutIn,
    OkOut,
    ProfilePatchIn,
    RefreshIn,
    RegisterIn,
    RegisterOut,
    TokenOut,
    UserOut,
    VerifyLicenseIn,
    VerifyLicenseOut,
)
from signalos.common.guards import current_principal, optional_principal, require_auth
from signalos.common.params import IdPath

router = Router()
PREFIX = "/api/v1/auth"
TAGS = ["auth"]


@router.post(f"{PREFIX}/register", status_code=201, tags=TAGS, summary="Create an account")
def register(body: RegisterIn) -> RegisterOut:
    user = service.register(username=body.username, password=body.password, email=body.email,
                            full_name=body.full_name)
    return RegisterOut(user=UserOut(**service.user_out(user)))


@router.post(f"{PREFIX}/login", tags=TAGS, summary="Exchange username and password for tokens")
def login(body: LoginIn) -> TokenOut:
    return TokenOut(**service.login(username=body.username, password=body.password,
                                    device_info=body.device_info))


@router.post(f"{PREFIX}/refresh-token", tags=TAGS, summary="Rotate a refresh token for a new token pair")
def refresh_token(body: RefreshIn) -> TokenOut:
    return TokenOut(**service.refresh(body.refresh_token))


@router.post(f"{PREFIX}/refresh", tags=TAGS, summary="Alias of refresh-token")
def refresh(body: RefreshIn) -> TokenOut:
    return TokenOut(**service.refresh(body.refresh_token))


@router.post(f"{PREFIX}/logout", tags=TAGS, summary="Revoke this session (and/or a refresh token's)")
def logout(body: LogoutIn | None = None) -> OkOut:
    service.logout(optional_principal(router), body.refresh_token if body else None)
    return OkOut()


@router.get(f"{PREFIX}/profile", tags=TAGS, summary="The caller's profile")
@require_auth
def get_profile() -> UserOut:
    return UserOut(**service.user_out(service.get_profile(current_principal(router).user_id)))


@router.patch(f"{PREFIX}/profile", tags=TAGS, summary="Change email, full name or timezone")
@require_auth
def patch_profile(body: ProfilePatchIn) -> UserOut:
    changes = body.model_dump(exclude_unset=True)
    return UserOut(**service.user_out(service.update_profile(current_principal(router).user_id, changes)))


@router.post(f"{PREFIX}/change-password", tags=TAGS, summary="Change password; other sessions end")
@require_auth
def change_password(body: ChangePasswordIn) -> ChangePasswordOut:
    revoked = service.change_password(current_principal(router), body.current_password, body.new_password)
    return ChangePasswordOut(sessions_revoked=revoked)


@router.get(f"{PREFIX}/license-status", tags=TAGS, summary="The caller's license")
@require_auth
def license_status() -> LicenseStatusOut:
    return LicenseStatusOut(**service.license_status(current_principal(router).user_id))


@router.post(f"{PREFIX}/verify-license", tags=TAGS, summary="Check the license, a feature, a device")
@require_auth
def verify_license(body: VerifyLicenseIn | None = None) -> VerifyLicenseOut:
    body = body or VerifyLicenseIn()
    return VerifyLicenseOut(**service.verify_license(current_principal(router).user_id, feature=body.feature,
                                                     device_info=body.device_info))


@router.get(f"{PREFIX}/devices", tags=TAGS, summary="Devices bound to the caller's license")
@require_auth
def list_devices() -> DeviceListOut:
    return DeviceListOut(**service.list_devices(current_principal(router).user_id))


@router.delete(f"{PREFIX}/devices/<device_id>", tags=TAGS, summary="Unbind a device")
@require_auth
def remove_device(device_id: IdPath) -> DeviceRemovedOut:
    service.remove_device(current_principal(router).user_id, device_id)
    return DeviceRemovedOut(device_id=device_id)


@router.post(f"{PREFIX}/api-keys", status_code=201, tags=TAGS, summary="Create an API key (shown once)")
@require_auth
def create_api_key(body: ApiKeyCreateIn) -> ApiKeyCreatedOut:
    created = service.create_api_key(current_principal(router), name=body.name, scopes=list(body.scopes),
                                     expires_in_days=body.expires_in_days)
    return ApiKeyCreatedOut(**created)


@router.get(f"{PREFIX}/api-keys", tags=TAGS, summary="The caller's API keys (no secrets)")
@require_auth
def list_api_keys() -> ApiKeyListOut:
    return ApiKeyListOut(**service.list_api_keys(current_principal(router).user_id))


@router.delete(f"{PREFIX}/api-keys/<key_id>", tags=TAGS, summary="Revoke an API key")
@require_auth
def revoke_api_key(key_id: IdPath) -> ApiKeyRevokedOut:
    service.revoke_api_key(current_principal(router).user_id, key_id)
    return ApiKeyRevokedOut(key_id=key_id)
