//! Counting what DynamoDB reads: the items every `Query` response says it evaluated
//! (`ScannedCount`, what read capacity is billed on). Attach it to an SDK client config with
//! `.interceptor(SharedInterceptor::new(meter.clone()))`; the benchmarks and the cost tests do.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::query::QueryOutput;

#[derive(Debug, Clone, Default)]
pub struct ItemsRead(Arc<AtomicU64>);

impl ItemsRead {
    /// Items read since the last call, and starts counting again.
    pub fn take(&self) -> u64 {
        self.0.swap(0, Ordering::Relaxed)
    }
}

impl Intercept for ItemsRead {
    fn name(&self) -> &'static str {
        "items-read"
    }

    fn read_after_execution(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Ok(out)) = ctx.output_or_error()
            && let Some(q) = out.downcast_ref::<QueryOutput>()
        {
            self.0.fetch_add(u64::try_from(q.scanned_count).unwrap_or(0), Ordering::Relaxed);
        }
        Ok(())
    }
}
