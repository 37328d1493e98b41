//! progenitor's `ClientHooks` for the generated client: small fixes to what goes
//! on the wire, applied to every operation however it is called.

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::{
    Method, Request,
    header::{CONTENT_LENGTH, HeaderValue},
};

use crate::generated::{Client, Error};

impl ClientHooks for Client {
    async fn pre<E>(&self, request: &mut Request, _info: &OperationInfo) -> Result<(), Error<E>> {
        // A body-less POST (deactivate) would otherwise go without any length,
        // which some proxies answer with 411; the official client sends 0.
        if request.body().is_none()
            && matches!(
                *request.method(),
                Method::POST | Method::PATCH | Method::PUT
            )
        {
            request
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        Ok(())
    }
}
