//! Creating the tables as Terraform does (local servers and tests).

use super::*;

impl DynamoStore {
    /// Creates the tables as Terraform does (for local servers and tests); existing ones are kept.
    pub async fn create_tables(&self) -> StoreResult<()> {
        use aws_sdk_dynamodb::types::*;
        for spec in schema::ALL {
            let name = format!("{}-{}", self.t.prefix, spec.suffix);
            let mut attrs = vec![spec.hash_key];
            attrs.extend(spec.range_key);
            attrs.extend(spec.indexes.iter().map(|(_, k)| *k));
            let mut req = self.client.create_table().table_name(&name).billing_mode(BillingMode::PayPerRequest);
            for a in attrs {
                req = req.attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(a)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(backend)?,
                );
            }
            req = req.key_schema(
                KeySchemaElement::builder()
                    .attribute_name(spec.hash_key)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(backend)?,
            );
            if let Some(r) = spec.range_key {
                req = req.key_schema(
                    KeySchemaElement::builder().attribute_name(r).key_type(KeyType::Range).build().map_err(backend)?,
                );
            }
            for (index, key) in spec.indexes {
                req = req.global_secondary_indexes(
                    GlobalSecondaryIndex::builder()
                        .index_name(*index)
                        .key_schema(
                            KeySchemaElement::builder()
                                .attribute_name(*key)
                                .key_type(KeyType::Hash)
                                .build()
                                .map_err(backend)?,
                        )
                        .projection(Projection::builder().projection_type(ProjectionType::All).build())
                        .build()
                        .map_err(backend)?,
                );
            }
            match req.send().await {
                Ok(_) => {}
                // Already there (a second local run, or tables made by Terraform): leave it.
                Err(e) if is_code(&e, "ResourceInUseException") => continue,
                Err(e) => return Err(classify(e)),
            }
            if let Some(ttl) = spec.ttl_attribute {
                self.client
                    .update_time_to_live()
                    .table_name(&name)
                    .time_to_live_specification(
                        TimeToLiveSpecification::builder()
                            .attribute_name(ttl)
                            .enabled(true)
                            .build()
                            .map_err(backend)?,
                    )
                    .send()
                    .await
                    .map_err(classify)?;
            }
        }
        Ok(())
    }

    /// The tables of [`schema::ALL`] this prefix lacks (one `DescribeTable` each), so an
    /// operator tool can say which table is missing instead of "storage failure".
    pub async fn missing_tables(&self) -> StoreResult<Vec<String>> {
        let mut missing = vec![];
        for spec in schema::ALL {
            let name = format!("{}-{}", self.t.prefix, spec.suffix);
            match self.client.describe_table().table_name(&name).send().await {
                Ok(_) => {}
                Err(e) if is_code(&e, "ResourceNotFoundException") => missing.push(name),
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(missing)
    }
}
